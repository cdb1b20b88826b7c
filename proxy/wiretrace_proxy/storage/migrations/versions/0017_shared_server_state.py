"""Server state that replicas share: ``server_settings`` and ``revoked_sessions``.

- **``server_settings``** (name, value): values every replica of one server database must
  agree on. The first is the API key fingerprint salt: without ``--key-salt`` each replica
  made a random one in its own user directory, so one API key got a fingerprint per host.
- **``revoked_sessions``** (session id, expiry): a sign-in cookie ended by ``/signout`` is
  refused by every replica until it would have expired anyway, so a copied cookie is no
  use once its owner signs out.

Both are small, new tables: nothing is rewritten.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "server_settings",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "revoked_sessions",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("revoked_sessions")
    op.drop_table("server_settings")
