"""stats rollups: exact per-day sums and latency/TTFT histograms of calls.

``/api/stats`` over a million calls cannot scan the ``calls`` table within a second on
SQLite (the JSON bodies make it gigabytes), so two small tables hold what it needs, per UTC
day and combination of project, kind, model, op name, op version and status:
``call_rollups`` (counts, tokens, cost) and ``call_rollup_buckets`` (log histograms).

On SQLite, triggers on ``calls`` keep both exact inside the very transaction that changes a
call: insert adds, delete subtracts, an update of a counted column (the span upsert's DO
UPDATE included) subtracts the old row and adds the new one. Existing calls are backfilled
here. On PostgreSQL the tables are created but left empty and unused: ``/api/stats`` reads
``calls`` directly there (no triggers, so nothing to keep in step).

A later migration that recreates ``calls`` on SQLite (batch mode with a column drop or
type change) drops these triggers with the old table and must create them again
(``create_triggers``); ``storage.rollups`` ignores the rollups when they are missing, and
``tests/proxy/api/test_stats.py`` fails.

The bucket bounds are frozen here (``storage.rollups.BOUNDS`` must equal ``BOUNDS``):
bucket 0 is below 2**-7 ms, bucket i is [BOUNDS[i-1], BOUNDS[i]), the last is at least
2**24 ms; eight buckets to an octave.

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AutoString = sqlmodel.sql.sqltypes.AutoString

BOUNDS = tuple(2.0 ** (i / 8 - 7) for i in range(8 * 31 + 1))
DIMENSIONS = ("day", "project", "kind", "model", "op_name", "op_version", "status")
SUMS = ("prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens", "reasoning_tokens")
COUNTED = (
    "started_at", "project", "kind", "model", "op_name", "op_version", "status",
    "latency_ms", "ttft_ms", "cost_usd", *SUMS,
)
"""Columns whose update changes the rollups (other updates do not fire the trigger)."""
TRIGGERS = ("calls_rollup_insert", "calls_rollup_update", "calls_rollup_delete")


def _bucket_sql(value: str, lo: int = 0, hi: int = len(BOUNDS)) -> str:
    """A binary-search CASE giving the bucket of ``value`` (portable: no log() needed)."""
    if lo == hi:
        return str(lo)
    mid = (lo + hi) // 2
    return (
        f"CASE WHEN {value} < {BOUNDS[mid]!r} THEN {_bucket_sql(value, lo, mid)}"
        f" ELSE {_bucket_sql(value, mid + 1, hi)} END"
    )


def _keys(row: str) -> list[str]:
    prefix = f"{row}." if row else ""
    return [
        f"substr({prefix}started_at, 1, 10)",
        f"{prefix}project",
        f"{prefix}kind",
        f"coalesce({prefix}model, '')",
        f"{prefix}op_name",
        f"coalesce({prefix}op_version, '')",
        f"{prefix}status",
    ]


def _change(row: str, sign: int) -> str:
    """Statements adding (sign 1) or removing (sign -1) one call ``row`` (NEW or OLD)."""
    keys = ", ".join(_keys(row))
    dims = ", ".join(DIMENSIONS)
    sums = [f"{sign} * coalesce({row}.{c}, 0)" for c in (*SUMS, "cost_usd")]
    values = ", ".join([str(sign), *sums, f"{sign} * ({row}.cost_usd IS NOT NULL)"])
    columns = ("calls", *SUMS, "cost_usd", "cost_calls")
    update = ", ".join(f"{c} = {c} + excluded.{c}" for c in columns)
    statements = [
        f"INSERT INTO call_rollups ({dims}, {', '.join(columns)}) VALUES ({keys}, {values})"
        f" ON CONFLICT ({dims}) DO UPDATE SET {update};"
    ]
    for metric in ("latency_ms", "ttft_ms"):
        statements.append(
            f"INSERT INTO call_rollup_buckets ({dims}, metric, bucket, n)"
            f" SELECT {keys}, '{metric}', {_bucket_sql(f'{row}.{metric}')}, {sign}"
            f" WHERE {row}.{metric} IS NOT NULL"
            f" ON CONFLICT ({dims}, metric, bucket) DO UPDATE SET n = n + excluded.n;"
        )
    if sign < 0:
        match = " AND ".join(f"{d} = {k}" for d, k in zip(DIMENSIONS, _keys(row), strict=True))
        statements.append(f"DELETE FROM call_rollups WHERE {match} AND calls = 0;")
        statements.append(f"DELETE FROM call_rollup_buckets WHERE {match} AND n = 0;")
    return "\n".join(statements)


def create_triggers() -> None:
    op.execute(f"CREATE TRIGGER calls_rollup_insert AFTER INSERT ON calls BEGIN\n{_change('NEW', 1)}\nEND")
    op.execute(
        f"CREATE TRIGGER calls_rollup_update AFTER UPDATE OF {', '.join(COUNTED)} ON calls BEGIN\n"
        f"{_change('OLD', -1)}\n{_change('NEW', 1)}\nEND"
    )
    op.execute(f"CREATE TRIGGER calls_rollup_delete AFTER DELETE ON calls BEGIN\n{_change('OLD', -1)}\nEND")


def _backfill() -> None:
    keys = ", ".join(_keys(""))
    dims = ", ".join(DIMENSIONS)
    positions = ", ".join(str(i + 1) for i in range(len(DIMENSIONS)))
    sums = ", ".join(f"sum(coalesce({c}, 0))" for c in (*SUMS, "cost_usd"))
    op.execute(
        f"INSERT INTO call_rollups ({dims}, calls, {', '.join(SUMS)}, cost_usd, cost_calls)"
        f" SELECT {keys}, count(*), {sums}, count(cost_usd) FROM calls GROUP BY {positions}"
    )
    for metric in ("latency_ms", "ttft_ms"):
        op.execute(
            f"INSERT INTO call_rollup_buckets ({dims}, metric, bucket, n)"
            f" SELECT {keys}, '{metric}', {_bucket_sql(metric)}, count(*) FROM calls"
            f" WHERE {metric} IS NOT NULL GROUP BY {positions}, {len(DIMENSIONS) + 2}"
        )


def _dimension_columns() -> list[sa.Column[object]]:
    return [sa.Column(name, AutoString(), nullable=False) for name in DIMENSIONS]


def upgrade() -> None:
    op.create_table(
        "call_rollups",
        *_dimension_columns(),
        sa.Column("calls", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in SUMS),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("cost_calls", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*DIMENSIONS),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "call_rollup_buckets",
        *_dimension_columns(),
        sa.Column("metric", AutoString(), nullable=False),
        sa.Column("bucket", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*DIMENSIONS, "metric", "bucket"),
        sqlite_with_rowid=False,
    )
    if op.get_bind().dialect.name == "sqlite":
        _backfill()
        create_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("call_rollup_buckets")
    op.drop_table("call_rollups")
