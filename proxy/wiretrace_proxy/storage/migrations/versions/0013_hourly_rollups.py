"""stats rollups per UTC hour instead of per day.

The dashboard's views ("the last 24 hours", "the last 7 days") start at any minute, so the
per-day cells could not answer them and ``/api/stats`` scanned ``calls``. The cells of
``call_rollups`` and ``call_rollup_buckets`` are now keyed by ``hour`` (the first 13
characters of the stored UTC ``started_at``, ``YYYY-MM-DD HH``), a day being the sum of
its hours; ``storage.rollups`` reads whole hours from them and scans ``calls`` only for the
partial hours at a range's edges.

A day cell cannot be split into hours, so on SQLite the tables are rebuilt from ``calls``,
one day of calls per statement (``started_at`` is indexed), and the update and delete
triggers of 0005 are made again on the hour key (same names, so ``storage.rollups.usable``
still finds them). New calls are added by ``storage.rollup_writes`` as since 0008. On
PostgreSQL the tables are empty (0005): only the column is renamed.

Downgrade folds the hours back into days (exact counts, token sums and buckets; a cost sum
is re-added in another order, so it may differ in its last bits) and makes 0005's triggers
again.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of 0005's definitions.
BOUNDS = tuple(2.0 ** (i / 8 - 7) for i in range(8 * 31 + 1))
CELL = ("project", "kind", "model", "op_name", "op_version", "status")
SUMS = ("prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens", "reasoning_tokens")
COUNTED = ("started_at", *CELL, "latency_ms", "ttft_ms", "cost_usd", *SUMS)
"""Columns whose update changes the rollups (other updates do not fire the trigger)."""
TABLES = ("call_rollups", "call_rollup_buckets")
TRIGGERS = ("calls_rollup_update", "calls_rollup_delete")
GRAINS = {"hour": 13, "day": 10}
"""The time column of each grain and how many characters of ``started_at`` it keeps."""


def _bucket_sql(value: str, lo: int = 0, hi: int = len(BOUNDS)) -> str:
    """A binary-search CASE giving the bucket of ``value`` (as 0005)."""
    if lo == hi:
        return str(lo)
    mid = (lo + hi) // 2
    return (
        f"CASE WHEN {value} < {BOUNDS[mid]!r} THEN {_bucket_sql(value, lo, mid)}"
        f" ELSE {_bucket_sql(value, mid + 1, hi)} END"
    )


def _keys(row: str, grain: str) -> list[str]:
    prefix = f"{row}." if row else ""
    return [
        f"substr({prefix}started_at, 1, {GRAINS[grain]})",
        f"{prefix}project",
        f"{prefix}kind",
        f"coalesce({prefix}model, '')",
        f"{prefix}op_name",
        f"coalesce({prefix}op_version, '')",
        f"{prefix}status",
    ]


def _change(row: str, sign: int, grain: str) -> str:
    """Statements adding (sign 1) or removing (sign -1) one call ``row`` (NEW or OLD)."""
    dimensions = (grain, *CELL)
    keys = ", ".join(_keys(row, grain))
    dims = ", ".join(dimensions)
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
        pairs = zip(dimensions, _keys(row, grain), strict=True)
        match = " AND ".join(f"{d} = {k}" for d, k in pairs)
        statements.append(f"DELETE FROM call_rollups WHERE {match} AND calls = 0;")
        statements.append(f"DELETE FROM call_rollup_buckets WHERE {match} AND n = 0;")
    return "\n".join(statements)


def _create_triggers(grain: str) -> None:
    op.execute(
        f"CREATE TRIGGER calls_rollup_update AFTER UPDATE OF {', '.join(COUNTED)} ON calls"
        f" BEGIN\n{_change('OLD', -1, grain)}\n{_change('NEW', 1, grain)}\nEND"
    )
    op.execute(
        f"CREATE TRIGGER calls_rollup_delete AFTER DELETE ON calls"
        f" BEGIN\n{_change('OLD', -1, grain)}\nEND"
    )


def _dimensions(grain: str) -> list[sa.Column[str]]:
    return [sa.Column(name, sa.String(), nullable=False) for name in (grain, *CELL)]


def _create_tables(grain: str) -> None:
    op.create_table(
        "call_rollups",
        *_dimensions(grain),
        sa.Column("calls", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in SUMS),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("cost_calls", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(grain, *CELL),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "call_rollup_buckets",
        *_dimensions(grain),
        sa.Column("metric", sa.String(), nullable=False),
        sa.Column("bucket", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(grain, *CELL, "metric", "bucket"),
        sqlite_with_rowid=False,
    )


def _days() -> list[date]:
    """Every UTC day holding a call, oldest first."""
    bind = op.get_bind()
    first, last = bind.execute(sa.text("SELECT min(started_at), max(started_at) FROM calls")).one()
    if first is None:
        return []
    start, end = date.fromisoformat(str(first)[:10]), date.fromisoformat(str(last)[:10])
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _recount_hours() -> None:
    """The hourly cells from ``calls``, one day of calls per statement."""
    keys = ", ".join(_keys("", "hour"))
    dims = ", ".join(("hour", *CELL))
    positions = ", ".join(str(i + 1) for i in range(len(CELL) + 1))
    sums = ", ".join(f"sum(coalesce({c}, 0))" for c in (*SUMS, "cost_usd"))
    day = "started_at >= :start AND started_at < :end"
    statements = [
        f"INSERT INTO call_rollups ({dims}, calls, {', '.join(SUMS)}, cost_usd, cost_calls)"
        f" SELECT {keys}, count(*), {sums}, count(cost_usd) FROM calls WHERE {day}"
        f" GROUP BY {positions}"
    ]
    for metric in ("latency_ms", "ttft_ms"):
        statements.append(
            f"INSERT INTO call_rollup_buckets ({dims}, metric, bucket, n)"
            f" SELECT {keys}, '{metric}', {_bucket_sql(metric)}, count(*) FROM calls"
            f" WHERE {day} AND {metric} IS NOT NULL GROUP BY {positions}, {len(CELL) + 3}"
        )
    bind = op.get_bind()
    for start in _days():
        bounds = {"start": start.isoformat(), "end": (start + timedelta(days=1)).isoformat()}
        for statement in statements:
            bind.execute(sa.text(statement), bounds)


def _fold_into_days() -> None:
    """The daily cells as sums of the hourly ones, kept aside in ``_hours``."""
    cell = ", ".join(CELL)
    columns = ", ".join(("calls", *SUMS, "cost_usd", "cost_calls"))
    sums = ", ".join(f"sum({c})" for c in ("calls", *SUMS, "cost_usd", "cost_calls"))
    op.execute(
        f"INSERT INTO call_rollups (day, {cell}, {columns})"
        f" SELECT substr(hour, 1, 10), {cell}, {sums} FROM _hours_rollups"
        f" GROUP BY substr(hour, 1, 10), {cell}"
    )
    op.execute(
        f"INSERT INTO call_rollup_buckets (day, {cell}, metric, bucket, n)"
        f" SELECT substr(hour, 1, 10), {cell}, metric, bucket, sum(n) FROM _hours_buckets"
        f" GROUP BY substr(hour, 1, 10), {cell}, metric, bucket"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        for table in TABLES:
            op.alter_column(table, "day", new_column_name="hour")
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for table in TABLES:
        op.drop_table(table)
    _create_tables("hour")
    _recount_hours()
    _create_triggers("hour")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        for table in TABLES:
            op.alter_column(table, "hour", new_column_name="day")
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.rename_table("call_rollups", "_hours_rollups")
    op.rename_table("call_rollup_buckets", "_hours_buckets")
    _create_tables("day")
    _fold_into_days()
    op.drop_table("_hours_rollups")
    op.drop_table("_hours_buckets")
    _create_triggers("day")
