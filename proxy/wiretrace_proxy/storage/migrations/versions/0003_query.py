"""query API: prompt digests, sort indexes, feedback.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AutoString = sqlmodel.sql.sqltypes.AutoString

SORT_INDEXES = {
    "ix_calls_latency_ms": ["latency_ms"],
    "ix_calls_total_tokens": ["total_tokens"],
    "ix_calls_cost_usd": ["cost_usd"],
}


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("prompt_digest", AutoString(), nullable=True))
        batch.create_index("ix_calls_prompt_digest_started_at", ["prompt_digest", "started_at"])
        for name, columns in SORT_INDEXES.items():
            batch.create_index(name, columns)
    op.create_table(
        "feedback",
        sa.Column("id", AutoString(), nullable=False),
        sa.Column("call_id", AutoString(), nullable=False),
        sa.Column("thumbs", sa.Integer(), nullable=True),
        sa.Column("name", AutoString(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("note", AutoString(), nullable=True),
        sa.Column("author", AutoString(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_feedback_call_id", "feedback", ["call_id"])


def downgrade() -> None:
    op.drop_index("ix_feedback_call_id", table_name="feedback")
    op.drop_table("feedback")
    with op.batch_alter_table("calls") as batch:
        for name in SORT_INDEXES:
            batch.drop_index(name)
        batch.drop_index("ix_calls_prompt_digest_started_at")
        batch.drop_column("prompt_digest")
