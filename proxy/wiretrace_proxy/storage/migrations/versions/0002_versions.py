"""op and model versions: the SDK's versioned ops and wiretrace.Model configurations.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AutoString = sqlmodel.sql.sqltypes.AutoString


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("op_version", AutoString(), nullable=True))
        batch.add_column(sa.Column("model_version", AutoString(), nullable=True))
        batch.create_index("ix_calls_op_name_op_version", ["op_name", "op_version"])
    op.create_table(
        "op_versions",
        sa.Column("project", AutoString(), nullable=False),
        sa.Column("op_name", AutoString(), nullable=False),
        sa.Column("digest", AutoString(), nullable=False),
        sa.Column("source", AutoString(), nullable=False),
        sa.Column("module", AutoString(), nullable=True),
        sa.Column("qualname", AutoString(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project", "op_name", "digest"),
    )
    op.create_table(
        "model_versions",
        sa.Column("project", AutoString(), nullable=False),
        sa.Column("name", AutoString(), nullable=False),
        sa.Column("digest", AutoString(), nullable=False),
        sa.Column("attributes", _json(), nullable=True),
        sa.Column("source", _json(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project", "name", "digest"),
    )


def downgrade() -> None:
    op.drop_table("model_versions")
    op.drop_table("op_versions")
    with op.batch_alter_table("calls") as batch:
        batch.drop_index("ix_calls_op_name_op_version")
        batch.drop_column("model_version")
        batch.drop_column("op_version")
