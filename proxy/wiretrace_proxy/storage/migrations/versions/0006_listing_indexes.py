"""calls: indexes that let every ``/api/calls`` sort read one page in order.

A keyset page is ordered by its sort column, then ``id``. Without a matching index SQLite
sorts every candidate row before returning the first page; on a million calls:

- ``(started_at, id)``, the default order: the unfiltered first page took 4.4 s. With it
  SQLite walks the index newest-first and stops after a page, which also makes filters that
  match many calls (a property, a common search term, ``roots_only``) cheap.
- ``ttft_ms``, ``prompt_tokens``, ``completion_tokens``: the numeric sort keys that had no
  index (0.7 s a page); ``latency_ms``, ``total_tokens`` and ``cost_usd`` got theirs in 0003.
- ``(model, latency_ms)``, ``(model, cost_usd)``: "the slowest / most expensive calls of
  this model", the table's most common filter with a sort (230 ms a page).
- ``(op_name|model|status|session_id|user_id, id)``: the text sort keys. The existing
  ``(model, started_at)`` and friends order ties by time, not by id.

Plain ``CREATE INDEX`` (not a batch operation), so the table is not recreated and the rollup
triggers on it stay (see 0005).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_calls_started_at_id": ["started_at", "id"],
    "ix_calls_ttft_ms": ["ttft_ms"],
    "ix_calls_prompt_tokens": ["prompt_tokens"],
    "ix_calls_completion_tokens": ["completion_tokens"],
    "ix_calls_model_latency_ms": ["model", "latency_ms"],
    "ix_calls_model_cost_usd": ["model", "cost_usd"],
    "ix_calls_op_name_id": ["op_name", "id"],
    "ix_calls_model_id": ["model", "id"],
    "ix_calls_status_id": ["status", "id"],
    "ix_calls_session_id_id": ["session_id", "id"],
    "ix_calls_user_id_id": ["user_id", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "calls", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="calls")
