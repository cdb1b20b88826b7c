"""calls: new calls are added to the rollups by the writer, not by a trigger.

The ``calls_rollup_insert`` trigger (0005) ran three upserts inside SQLite for every
inserted call, about 90 µs of the writer's time per call. ``storage.rollup_writes`` now adds
each batch to ``call_rollups`` and ``call_rollup_buckets``, one upsert per cell, in the same
transaction as the rows, storing exactly what the trigger did. The update and delete
triggers stay: span merges, reprice and deletes change few rows.

The rollups were exact up to this migration (the trigger kept them) and this migration
changes no row, so they stay exact. ``storage.rollups.usable`` trusts the rollups only while
the insert trigger is absent (with it, every call would be counted twice) and the other two
are present. Downgrade recreates the trigger as 0005 made it. PostgreSQL has no rollup
triggers (0005): nothing to do there.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of 0005's definitions, to recreate its insert trigger on downgrade.
BOUNDS = tuple(2.0 ** (i / 8 - 7) for i in range(8 * 31 + 1))
DIMENSIONS = ("day", "project", "kind", "model", "op_name", "op_version", "status")
SUMS = ("prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens", "reasoning_tokens")


def _bucket_sql(value: str, lo: int = 0, hi: int = len(BOUNDS)) -> str:
    if lo == hi:
        return str(lo)
    mid = (lo + hi) // 2
    return (
        f"CASE WHEN {value} < {BOUNDS[mid]!r} THEN {_bucket_sql(value, lo, mid)}"
        f" ELSE {_bucket_sql(value, mid + 1, hi)} END"
    )


def _insert_trigger() -> str:
    keys = ", ".join(
        [
            "substr(NEW.started_at, 1, 10)",
            "NEW.project",
            "NEW.kind",
            "coalesce(NEW.model, '')",
            "NEW.op_name",
            "coalesce(NEW.op_version, '')",
            "NEW.status",
        ]
    )
    dims = ", ".join(DIMENSIONS)
    sums = [f"1 * coalesce(NEW.{c}, 0)" for c in (*SUMS, "cost_usd")]
    values = ", ".join(["1", *sums, "1 * (NEW.cost_usd IS NOT NULL)"])
    columns = ("calls", *SUMS, "cost_usd", "cost_calls")
    update = ", ".join(f"{c} = {c} + excluded.{c}" for c in columns)
    statements = [
        f"INSERT INTO call_rollups ({dims}, {', '.join(columns)}) VALUES ({keys}, {values})"
        f" ON CONFLICT ({dims}) DO UPDATE SET {update};"
    ]
    for metric in ("latency_ms", "ttft_ms"):
        statements.append(
            f"INSERT INTO call_rollup_buckets ({dims}, metric, bucket, n)"
            f" SELECT {keys}, '{metric}', {_bucket_sql(f'NEW.{metric}')}, 1"
            f" WHERE NEW.{metric} IS NOT NULL"
            f" ON CONFLICT ({dims}, metric, bucket) DO UPDATE SET n = n + excluded.n;"
        )
    body = "\n".join(statements)
    return f"CREATE TRIGGER calls_rollup_insert AFTER INSERT ON calls BEGIN\n{body}\nEND"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS calls_rollup_insert")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(_insert_trigger())
