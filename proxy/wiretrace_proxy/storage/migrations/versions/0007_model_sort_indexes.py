"""calls: (model, latency_ms) and (model, cost_usd), for "the slowest / most expensive
calls of this model", the table's most common filter with a sort.

Without them SQLite takes every call of the model from ``ix_calls_model_started_at`` and
sorts them (230 ms a page on a million calls); with them it reads one page in order.
Plain ``CREATE INDEX``: the table is not recreated, so the rollup triggers stay (see 0005).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_calls_model_latency_ms": ["model", "latency_ms"],
    "ix_calls_model_cost_usd": ["model", "cost_usd"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "calls", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="calls")
