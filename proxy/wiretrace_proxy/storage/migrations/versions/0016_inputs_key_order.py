"""calls: ``inputs_key_order``, the request body's key order where ``JSONB`` loses it.

PostgreSQL keeps ``calls.inputs`` as ``JSONB``, which sorts every object's keys, so a
dataset made from calls could not give back the body as the app sent it. The writer now
stores the order alone beside it on PostgreSQL (``storage/key_order.py``); on SQLite the
JSON text keeps the order and the column stays NULL. Plain ``ADD COLUMN`` of a nullable
column: no rewrite of the table on either database, and the triggers on it stay. Rows
stored before this revision keep NULL: their bodies read back in ``JSONB``'s order.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("calls", sa.Column("inputs_key_order", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("calls", "inputs_key_order")  # SQLite 3.35+: in place, the triggers stay
