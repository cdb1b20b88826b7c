"""calls: drop the two indexes that are a prefix of another, ``session_id`` and ``user_id``.

``(session_id)`` and ``(user_id)`` (0003) answer nothing that ``(session_id, id)`` and
``(user_id, id)`` (0006) do not: an equality filter on the column reads the longer index
just as well, and its ``id`` order serves the keyset pages too. Each index is kept up to
date on every insert of a call, so two fewer make the writer cheaper per row. Plain
``DROP INDEX``, so the table and the rollup triggers on it stay (see 0005).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_calls_session_id": ["session_id"],
    "ix_calls_user_id": ["user_id"],
}


def upgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="calls")


def downgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "calls", columns)
