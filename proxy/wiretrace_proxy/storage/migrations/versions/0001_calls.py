"""calls: one row per recorded call or SDK span, with the indexes the UI filters by.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AutoString = sqlmodel.sql.sqltypes.AutoString


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


INDEXES = {
    "ix_calls_project_started_at": ["project", "started_at"],
    "ix_calls_trace_id_started_at": ["trace_id", "started_at"],
    "ix_calls_parent_id": ["parent_id"],
    "ix_calls_op_name_started_at": ["op_name", "started_at"],
    "ix_calls_model_started_at": ["model", "started_at"],
    "ix_calls_status_started_at": ["status", "started_at"],
    "ix_calls_session_id": ["session_id"],
    "ix_calls_user_id": ["user_id"],
}


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", AutoString(), nullable=False),
        sa.Column("project", AutoString(), nullable=False),
        sa.Column("kind", AutoString(), nullable=False),
        sa.Column("trace_id", AutoString(), nullable=False),
        sa.Column("parent_id", AutoString(), nullable=True),
        sa.Column("op_name", AutoString(), nullable=False),
        sa.Column("display_name", AutoString(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.Column("overhead_ms", sa.Float(), nullable=True),
        sa.Column("status", AutoString(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("model", AutoString(), nullable=True),
        sa.Column("response_model", AutoString(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("total_tokens", sa.Integer(), nullable=True),
        sa.Column("cached_tokens", sa.Integer(), nullable=True),
        sa.Column("reasoning_tokens", sa.Integer(), nullable=True),
        sa.Column("usage_source", AutoString(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("session_id", AutoString(), nullable=True),
        sa.Column("user_id", AutoString(), nullable=True),
        sa.Column("key_fingerprint", AutoString(), nullable=True),
        sa.Column("inputs", _json(), nullable=True),
        sa.Column("output", _json(), nullable=True),
        sa.Column("error", _json(), nullable=True),
        sa.Column("attributes", _json(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        for name in reversed(INDEXES):
            batch_op.drop_index(name)
    op.drop_table("calls")
