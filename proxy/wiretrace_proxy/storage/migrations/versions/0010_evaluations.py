"""evaluations: datasets (versions, rows), evaluations, runs and their reported rows.

JSON columns here are plain ``JSON`` on PostgreSQL too, not ``JSONB``: a dataset row is
replayed as a request body, and ``JSONB`` would sort its keys (``models.ORDERED_JSON``).
A row's tokens and cost are not stored: they are read from the calls tagged with the
``Wiretrace-Eval-Run`` header (``storage/eval_calls.py``).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AutoString = sqlmodel.sql.sqltypes.AutoString


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON(none_as_null=True)


def _time(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("project", AutoString(), nullable=False),
        sa.Column("name", AutoString(), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("project", "name"),
    )
    op.create_table(
        "dataset_versions",
        sa.Column("project", AutoString(), nullable=False),
        sa.Column("name", AutoString(), nullable=False),
        sa.Column("version", AutoString(), nullable=False),
        sa.Column("digest", AutoString(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("source", _json(), nullable=True),
        _time("created_at"),
        sa.PrimaryKeyConstraint("project", "name", "version"),
    )
    op.create_index(
        "ix_dataset_versions_project_name_created_at",
        "dataset_versions",
        ["project", "name", "created_at"],
    )
    op.create_table(
        "dataset_rows",
        sa.Column("project", AutoString(), nullable=False),
        sa.Column("name", AutoString(), nullable=False),
        sa.Column("version", AutoString(), nullable=False),
        sa.Column("row_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", _json(), nullable=True),
        sa.PrimaryKeyConstraint("project", "name", "version", "row_index"),
    )
    op.create_table(
        "evaluations",
        sa.Column("project", AutoString(), nullable=False),
        sa.Column("name", AutoString(), nullable=False),
        sa.Column("version", AutoString(), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("project", "name", "version"),
    )
    op.create_table(
        "eval_runs",
        sa.Column("id", AutoString(), nullable=False),
        sa.Column("project", AutoString(), nullable=False),
        sa.Column("evaluation_name", AutoString(), nullable=False),
        sa.Column("evaluation_version", AutoString(), nullable=False),
        sa.Column("dataset_name", AutoString(), nullable=False),
        sa.Column("dataset_version", AutoString(), nullable=False),
        sa.Column("model_name", AutoString(), nullable=False),
        sa.Column("model_version", AutoString(), nullable=False),
        sa.Column("scorers", _json(), nullable=True),
        sa.Column("trials", sa.Integer(), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("config", _json(), nullable=True),
        sa.Column("status", AutoString(), nullable=False),
        sa.Column("summary", _json(), nullable=True),
        sa.Column("n_done", sa.Integer(), nullable=False),
        sa.Column("n_ok", sa.Integer(), nullable=False),
        sa.Column("n_model_errors", sa.Integer(), nullable=False),
        sa.Column("n_scorer_errors", sa.Integer(), nullable=False),
        _time("started_at"),
        _time("ended_at", nullable=True),
        _time("last_report_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_eval_runs_project_started_at", "eval_runs", ["project", "started_at"])
    op.create_table(
        "eval_run_rows",
        sa.Column("run_id", AutoString(), nullable=False),
        sa.Column("row_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("trial", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("inputs", _json(), nullable=True),
        sa.Column("output", _json(), nullable=True),
        sa.Column("scores", _json(), nullable=True),
        sa.Column("scorer_errors", _json(), nullable=True),
        sa.Column("model_error", _json(), nullable=True),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("trace_id", AutoString(), nullable=True),
        sa.Column("span_id", AutoString(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        _time("reported_at"),
        sa.PrimaryKeyConstraint("run_id", "row_index", "trial"),
    )


def downgrade() -> None:
    op.drop_table("eval_run_rows")
    op.drop_index("ix_eval_runs_project_started_at", table_name="eval_runs")
    op.drop_table("eval_runs")
    op.drop_table("evaluations")
    op.drop_table("dataset_rows")
    op.drop_index("ix_dataset_versions_project_name_created_at", table_name="dataset_versions")
    op.drop_table("dataset_versions")
    op.drop_table("datasets")
