"""calls: ``merge_key``, how an ingested LLM span and its proxied call find each other.

An LLM span ingested over OTLP and the proxied call of the same request are one call:
the span's ``gen_ai.response.id`` equals the id of the response the proxy relayed. The
writer folds one into the other whichever arrives first (``storage/llm_merge.py``), so
each side looks the other up by this column: a proxied call's row holds the response id
(``chatcmpl-...``), an ingested span's row ``span:`` and the response id, so a call never
finds another call that answered with the same id (a self-hosted server's ``chatcmpl-1``).
Indexed with ``started_at``, so even ids repeated across many calls are one short range
scan. Plain ``ADD COLUMN`` and ``CREATE INDEX``: the table and the rollup triggers on it
stay (see 0005). Rows stored before this revision keep NULL.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("calls", sa.Column("merge_key", sa.String(), nullable=True))
    op.create_index("ix_calls_merge_key_started_at", "calls", ["merge_key", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_calls_merge_key_started_at", table_name="calls")
    op.drop_column("calls", "merge_key")  # SQLite 3.35+: in place, the triggers stay
