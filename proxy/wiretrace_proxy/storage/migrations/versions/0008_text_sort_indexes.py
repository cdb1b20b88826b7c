"""calls: (column, id) indexes for the text sort keys (op, model, status, session, user).

A keyset page is ordered by the sort column then ``id``; only an index on exactly that pair
lets SQLite read one page in order instead of sorting a whole group (the existing
``(model, started_at)`` and friends order ties by time, not id). Plain ``CREATE INDEX``:
the table is not recreated, so the rollup triggers stay (see 0005).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
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
