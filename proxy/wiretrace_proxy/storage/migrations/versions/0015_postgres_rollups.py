"""stats rollups on PostgreSQL: triggers for updates and deletes, existing calls backfilled.

Until now only SQLite kept ``call_rollups`` and ``call_rollup_buckets``; PostgreSQL left them
empty and ``/api/stats`` scanned ``calls`` (seconds for the dashboard at a million calls).
Now PostgreSQL keeps them exactly as SQLite does (migrations 0005, 0008, 0013): new calls are
added by ``storage.rollup_writes`` in the writer's transaction, and updates and deletes of
calls by the two triggers made here, under the names SQLite's have
(``storage.rollups.usable`` looks for them on both):

- ``calls_rollup_update``: after an ``UPDATE`` (the span upsert's ``DO UPDATE``, the LLM span
  fold, reprice), each call whose counted columns changed is taken out of its old cell and
  added to its new one;
- ``calls_rollup_delete``: after a ``DELETE`` (a replaced ``running`` row, a purge), each
  call is taken out of its cell.

They are statement triggers over transition tables: a statement's calls are summed per cell
first, so a purge batch of 500 calls makes one upsert per cell, not three per call, and the
cells are taken in key order (two transactions take their rows in the same order). A cell or
bucket left at zero is removed, as a recount would not have it. Every change is an additive
upsert (``SET calls = call_rollups.calls + excluded.calls``), never a read then a write, so
replicas changing calls of one cell at once all count.

The cell key is SQLite's: ``hour`` is the UTC hour of ``started_at`` as ``YYYY-MM-DD HH``,
NULL ``model`` and ``op_version`` are ``''``; a histogram bucket is the number of the
frozen ``BOUNDS`` at or below the value (``width_bucket``, as ``bisect_right``).

Existing calls are backfilled one UTC day at a time (``started_at`` is indexed), under a
``SHARE`` lock on ``calls``: calls stay readable, and a writer of an older version still
running waits (or spools) until the migration commits, so no call is counted twice or
missed. Downgrade drops the triggers and their functions and empties the tables again.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of 0005's definitions.
BOUNDS = tuple(2.0 ** (i / 8 - 7) for i in range(8 * 31 + 1))
CELL = ("project", "kind", "model", "op_name", "op_version", "status")
DIMENSIONS = ("hour", *CELL)
SUMS = ("prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens", "reasoning_tokens")
COUNTED = ("started_at", *CELL, "latency_ms", "ttft_ms", "cost_usd", *SUMS)
"""Columns whose change moves a call in the rollups."""
METRICS = ("latency_ms", "ttft_ms")
TRIGGERS = {"calls_rollup_update": "UPDATE", "calls_rollup_delete": "DELETE"}
HELPERS = ("calls_rollup_hour(timestamptz)", "calls_rollup_bucket(double precision)")


def _keys(row: str) -> list[str]:
    """The cell of a call named ``row`` (an alias), in ``DIMENSIONS`` order."""
    return [
        f"calls_rollup_hour({row}.started_at)",
        f"{row}.project",
        f"{row}.kind",
        f"coalesce({row}.model, '')",
        f"{row}.op_name",
        f"coalesce({row}.op_version, '')",
        f"{row}.status",
    ]


def _helpers() -> list[str]:
    bounds = ", ".join(repr(b) for b in BOUNDS)
    return [
        "CREATE FUNCTION calls_rollup_hour(moment timestamptz) RETURNS text"
        " LANGUAGE sql STABLE PARALLEL SAFE AS"
        " $$SELECT to_char(moment AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')$$",
        "CREATE FUNCTION calls_rollup_bucket(value double precision) RETURNS integer"
        " LANGUAGE sql IMMUTABLE PARALLEL SAFE AS"
        f" $$SELECT width_bucket(value, ARRAY[{bounds}]::double precision[])$$",
    ]


def _signed(alias: str, sign: int, source: str) -> str:
    """``SELECT sign, <counted columns>`` of the calls ``alias`` in ``source``."""
    columns = ", ".join(f"{alias}.{name}" for name in COUNTED)
    return f"SELECT {sign} AS sign, {columns} FROM {source}"


def _add(changes: str) -> list[str]:
    """Statements adding ``changes`` (a query of ``sign`` and the counted columns of calls:
    -1 for a call leaving its cell, 1 for one entering it) to the rollups, cells and buckets
    in key order, each an additive upsert."""
    dims = ", ".join(DIMENSIONS)
    keys = ", ".join(_keys("c"))
    positions = ", ".join(str(i + 1) for i in range(len(DIMENSIONS)))
    sums = ", ".join(f"sum(sign * coalesce(c.{name}, 0))" for name in (*SUMS, "cost_usd"))
    columns = ("calls", *SUMS, "cost_usd", "cost_calls")
    update = ", ".join(f"{name} = call_rollups.{name} + excluded.{name}" for name in columns)
    per_metric = " UNION ALL ".join(
        f"SELECT {keys}, '{metric}' AS metric, calls_rollup_bucket(c.{metric}) AS bucket, sign"
        f" FROM ({changes}) AS c WHERE c.{metric} IS NOT NULL"
        for metric in METRICS
    )
    through = f"{dims}, metric, bucket"
    return [
        f"INSERT INTO call_rollups ({dims}, {', '.join(columns)})"
        f" SELECT {keys}, sum(sign), {sums}, sum(sign * (c.cost_usd IS NOT NULL)::integer)"
        f" FROM ({changes}) AS c GROUP BY {positions} ORDER BY {positions}"
        f" ON CONFLICT ({dims}) DO UPDATE SET {update}",
        f"INSERT INTO call_rollup_buckets ({dims}, metric, bucket, n)"
        f" SELECT {through}, sum(sign) FROM ({per_metric}) AS b ({through}, sign)"
        f" GROUP BY {through}"
        f" HAVING sum(sign) <> 0 ORDER BY {through}"
        f" ON CONFLICT ({dims}, metric, bucket)"
        " DO UPDATE SET n = call_rollup_buckets.n + excluded.n",
    ]


def _remove_empty(left: str) -> list[str]:
    """Statements removing the cells and buckets left at zero among those of the calls in
    ``left`` (the same shape as ``_add``'s ``changes``): a recount would not have them."""
    dims = ", ".join(DIMENSIONS)
    cells = f"SELECT DISTINCT {', '.join(_keys('c'))} FROM ({left}) AS c"
    match = " AND ".join(f"t.{d} = l.{d}" for d in DIMENSIONS)
    return [
        f"DELETE FROM {table} AS t USING ({cells}) AS l ({dims}) WHERE {match} AND {empty}"
        for table, empty in (("call_rollups", "t.calls = 0"), ("call_rollup_buckets", "t.n = 0"))
    ]


def _functions() -> list[str]:
    """The trigger functions. An update's calls are paired by ``id`` (never updated) and only
    those whose counted columns changed move (a hash join, whatever the statement's size)."""
    changed = "old_calls AS o JOIN new_calls AS n ON n.id = o.id WHERE " + " OR ".join(
        f"o.{name} IS DISTINCT FROM n.{name}" for name in COUNTED
    )
    leaving = _signed("o", -1, changed)
    entering = _signed("n", 1, changed)
    deleted = _signed("d", -1, "old_calls AS d")
    bodies = {
        "calls_rollup_update": [*_add(f"{leaving} UNION ALL {entering}"), *_remove_empty(leaving)],
        "calls_rollup_delete": [*_add(deleted), *_remove_empty(deleted)],
    }
    return [
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        + "".join(f"{statement};\n" for statement in body)
        + "RETURN NULL;\nEND\n$$"
        for name, body in bodies.items()
    ]


def _triggers() -> list[str]:
    tables = {
        "UPDATE": "OLD TABLE AS old_calls NEW TABLE AS new_calls",
        "DELETE": "OLD TABLE AS old_calls",
    }
    return [
        f"CREATE TRIGGER {name} AFTER {event} ON calls REFERENCING {tables[event]}"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        for name, event in TRIGGERS.items()
    ]


def _backfill() -> None:
    """Every call added to the rollups, one UTC day of calls per statement; days without
    calls are skipped (the next day holding one is an index seek)."""
    bind = op.get_bind()
    day = _signed("d", 1, "calls AS d WHERE d.started_at >= :start AND d.started_at < :end")
    statements = [sa.text(statement) for statement in _add(day)]
    seek = sa.text("SELECT min(started_at) FROM calls WHERE started_at >= :start")
    moment = bind.execute(seek, {"start": datetime(1, 1, 2, tzinfo=UTC)}).scalar()
    while moment is not None:
        start = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        bounds = {"start": start, "end": start + timedelta(days=1)}
        for statement in statements:
            bind.execute(statement, bounds)
        moment = bind.execute(seek, {"start": bounds["end"]}).scalar()


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("LOCK TABLE calls IN SHARE MODE")
    for statement in (*_helpers(), *_functions(), *_triggers()):
        op.execute(statement)
    op.execute("DELETE FROM call_rollups")
    op.execute("DELETE FROM call_rollup_buckets")
    _backfill()


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON calls")
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    for helper in HELPERS:
        op.execute(f"DROP FUNCTION IF EXISTS {helper}")
    op.execute("DELETE FROM call_rollups")
    op.execute("DELETE FROM call_rollup_buckets")
