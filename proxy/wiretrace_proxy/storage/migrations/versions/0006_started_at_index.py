"""calls: indexes for the default order of every listing and the remaining sort keys.

Without it the traces table's first page (newest first, no filter) sorted all calls: 4.4 s
on a million. With it SQLite walks the index newest-first and stops after one page, which
also makes filters that match many calls (a property, a common search term) cheap: the
walk stops as soon as a page of matches is found. A plain ``CREATE INDEX`` (not a batch
operation) so the table is not recreated and the rollup triggers on it stay (see 0005).

``ttft_ms``, ``prompt_tokens`` and ``completion_tokens`` are sort keys of ``/api/calls``
too and had no index (0.7 s a first page on a million calls); ``latency_ms``,
``total_tokens`` and ``cost_usd`` got theirs in 0003.

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
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "calls", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="calls")
