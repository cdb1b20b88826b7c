"""New calls added to the stats rollups by the code that inserts them, one upsert per cell.

Why: until migration 0008 a SQLite trigger added each inserted call to ``call_rollups`` and
``call_rollup_buckets``, three upserts per row run inside SQLite, about 90 µs of the
writer's time per call. A batch of calls falls into few cells (a UTC hour and one
combination of project, kind, model, op name, op version and status), so here the batch is
summed per cell in Python and each cell and histogram bucket gets one upsert, in the same
transaction (and savepoint) as the rows. Updates and deletes of calls (a span's end row
merged into its start row, reprice, deletes) are rarer and still kept by the two triggers
0005 made (on the hour key since 0013), which subtract the old row and add the new one.

The rollups hold exactly what the insert trigger stored:

- values as SQLite stores them: a NaN is NULL, an integral float in an integer column an
  integer; ``hour`` is the UTC hour of ``started_at`` (the trigger's
  ``substr(started_at, 1, 13)``, migration 0013), NULL ``model`` and ``op_version`` are ``''``;
- a histogram bucket is found by the same comparisons as the trigger's ``CASE`` (``bisect``
  on ``rollups.BOUNDS``);
- counts and token sums are integers, so their order does not matter, but ``cost_usd`` is a
  float sum, which rounds differently in another order: the trigger added each call's cost
  to the stored sum in insert order, so the stored sum is read and the batch's costs are
  added to it one by one in that order. Nothing can change the sum in between: the rows'
  insert already holds SQLite's write lock for the transaction.

PostgreSQL (migration 0015) keeps the same cells, from the values as it stores them (a NaN
stays a NaN, and falls in the last bucket, as ``width_bucket`` puts it). There every cell and
bucket is one additive upsert (``SET calls = call_rollups.calls + excluded.calls``, the
batch's cost sum added to the stored one), never a read then a write: replicas inserting
into the same cell at once all count, each waiting only for the other's row lock, and they
take the cells in key order so they never wait on each other in a circle. A cost sum is
then rounded in commit order, not insert order; the counts are exact.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from wiretrace_proxy.callrecord import USAGE_KEYS
from wiretrace_proxy.storage.models import CALLS
from wiretrace_proxy.storage.rollups import BOUNDS, BUCKETS, ROLLUPS

__all__ = ["add_calls", "cell_of", "recount"]

_DIMENSIONS = ("hour", "project", "kind", "model", "op_name", "op_version", "status")
_METRICS = ("latency_ms", "ttft_ms")
_MATCH = " AND ".join(f"{d} = ?" for d in _DIMENSIONS)
_DIMS = ", ".join(_DIMENSIONS)

_READ_COST = f"SELECT cost_usd FROM call_rollups WHERE {_MATCH}"
_UPSERT_CELL = (
    f"INSERT INTO call_rollups ({_DIMS}, calls, {', '.join(USAGE_KEYS)}, cost_usd, cost_calls)"
    f" VALUES ({', '.join('?' for _ in range(len(_DIMENSIONS) + len(USAGE_KEYS) + 3))})"
    f" ON CONFLICT ({_DIMS}) DO UPDATE SET calls = calls + excluded.calls, "
    + ", ".join(f"{c} = {c} + excluded.{c}" for c in USAGE_KEYS)
    + ", cost_usd = excluded.cost_usd, cost_calls = cost_calls + excluded.cost_calls"
)
"""``cost_usd`` is set, not added: it is the stored sum with the batch's costs added in order."""
_UPSERT_BUCKET = (
    f"INSERT INTO call_rollup_buckets ({_DIMS}, metric, bucket, n)"
    f" VALUES ({', '.join('?' for _ in range(len(_DIMENSIONS) + 3))})"
    f" ON CONFLICT ({_DIMS}, metric, bucket) DO UPDATE SET n = n + excluded.n"
)

Cell = tuple[object, ...]
"""The rollup dimensions of a call, in ``_DIMENSIONS`` order."""


class _Sums:
    """One cell's share of a batch."""

    __slots__ = ("calls", "cost_calls", "costs", "tokens")

    def __init__(self) -> None:
        self.calls = 0
        self.tokens: list[float] = [0] * len(USAGE_KEYS)
        self.costs: list[float] = []
        """Each call's cost in insert order, 0 for a call without one (as the trigger)."""
        self.cost_calls = 0


def _real(value: object) -> float | None:
    """A REAL column's value as SQLite keeps it: NULL for None and NaN."""
    if value is None:
        return None
    number = float(cast(float, value))
    return None if math.isnan(number) else number


def _integer(value: object) -> float:
    """An INTEGER column's value as SQLite keeps it, 0 for NULL (the trigger's coalesce).

    Token counts are ints; a float is kept as SQLite would (an integral one as an int).
    """
    if type(value) is int:
        return value
    if value is None:
        return 0
    number = float(cast(float, value))
    if math.isnan(number):
        return 0
    return int(number) if number.is_integer() else number


def _hour(started_at: object) -> str:
    """``substr(started_at, 1, 13)`` of the stored UTC text (``YYYY-MM-DD HH``)."""
    if isinstance(started_at, datetime):
        return started_at.astimezone(UTC).strftime("%Y-%m-%d %H")
    return str(started_at)[:13]


def cell_of(row: Mapping[str, object]) -> Cell:
    """The rollup cell of one ``calls`` row (column values as ``rows.record_to_row`` gives)."""
    model = row["model"]
    version = row["op_version"]
    return (
        _hour(row["started_at"]),
        row["project"],
        row["kind"],
        "" if model is None else model,
        row["op_name"],
        "" if version is None else version,
        row["status"],
    )


def add_calls(conn: Connection, rows: Sequence[Mapping[Any, Any]]) -> None:
    """Add ``rows``, just inserted into ``calls`` on ``conn``, to the rollups.

    Call it after the rows' own insert succeeded, in the same transaction or savepoint, so
    a refused batch or record is never counted. A no-op on databases without rollups.
    """
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        _add_sqlite(conn, rows)
    elif conn.dialect.name == "postgresql":
        _add_postgresql(conn, rows)


def _summed(
    rows: Sequence[Mapping[Any, Any]], real: Callable[[object], float | None]
) -> tuple[dict[Cell, _Sums], dict[tuple[object, ...], int]]:
    """``rows`` summed per cell, and counted per histogram bucket; ``real`` reads a REAL
    column's value as the database stores it."""
    cells: dict[Cell, _Sums] = {}
    buckets: dict[tuple[object, ...], int] = {}
    for row in rows:
        cell = cell_of(row)
        sums = cells.get(cell)
        if sums is None:
            sums = cells[cell] = _Sums()
        sums.calls += 1
        tokens = sums.tokens
        for i, name in enumerate(USAGE_KEYS):
            value = row[name]
            if value is not None:
                tokens[i] += _integer(value)
        cost = real(row["cost_usd"])
        if cost is None:
            sums.costs.append(0)
        else:
            sums.costs.append(cost)
            sums.cost_calls += 1
        for metric in _METRICS:
            value = real(row[metric])
            if value is not None:
                key = (*cell, metric, bisect_right(BOUNDS, value))
                buckets[key] = buckets.get(key, 0) + 1
    return cells, buckets


def _add_sqlite(conn: Connection, rows: Sequence[Mapping[Any, Any]]) -> None:
    cells, buckets = _summed(rows, _real)
    params = []
    for cell, sums in cells.items():
        stored: float | None = conn.exec_driver_sql(_READ_COST, cell).scalar()
        costs = iter(sums.costs)
        total = stored if stored is not None else next(costs)  # a new cell: its first cost
        for term in costs:
            total += term
        params.append((*cell, sums.calls, *sums.tokens, float(total), sums.cost_calls))
    conn.exec_driver_sql(_UPSERT_CELL, params)
    if buckets:
        conn.exec_driver_sql(_UPSERT_BUCKET, [(*key, n) for key, n in buckets.items()])


def _stored_real(value: object) -> float | None:
    """A ``double precision`` value as PostgreSQL stores it (NaN and infinities kept)."""
    return None if value is None else float(cast(float, value))


def _in_order(key: tuple[object, ...]) -> tuple[str, ...]:
    return tuple("" if part is None else str(part) for part in key)


def _add_postgresql(conn: Connection, rows: Sequence[Mapping[Any, Any]]) -> None:
    cells, buckets = _summed(rows, _stored_real)
    cell_rows = [
        {
            **dict(zip(_DIMENSIONS, cell, strict=True)),
            "calls": sums.calls,
            **dict(zip(USAGE_KEYS, sums.tokens, strict=True)),
            "cost_usd": float(sum(sums.costs)),
            "cost_calls": sums.cost_calls,
        }
        for cell, sums in sorted(cells.items(), key=lambda item: _in_order(item[0]))
    ]
    conn.execute(_PG_UPSERT_CELL, cell_rows)
    if buckets:
        keys = (*_DIMENSIONS, "metric", "bucket")
        bucket_rows = [
            {**dict(zip(keys, key, strict=True)), "n": n}
            for key, n in sorted(buckets.items(), key=lambda item: _in_order(item[0]))
        ]
        conn.execute(_PG_UPSERT_BUCKET, bucket_rows)


def _additive_upsert(table: sa.Table, keys: Sequence[str], sums: Sequence[str]) -> sa.Insert:
    stmt = postgresql.insert(table)
    return stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: table.c[name] + stmt.excluded[name] for name in sums},
    )


_PG_UPSERT_CELL = _additive_upsert(
    ROLLUPS, _DIMENSIONS, ("calls", *USAGE_KEYS, "cost_usd", "cost_calls")
)
_PG_UPSERT_BUCKET = _additive_upsert(BUCKETS, (*_DIMENSIONS, "metric", "bucket"), ("n",))


_COUNTED = (*_DIMENSIONS[1:], "started_at", *_METRICS, "cost_usd", *USAGE_KEYS)


def recount(conn: Connection, chunk: int = 20_000) -> None:
    """Rebuild the rollups from ``calls``, as if each call had been added as it was inserted.

    For a database filled without ``storage.writes`` (``bench/gen_calls.py`` bulk-inserts
    through the DBAPI): calls are read in insert (rowid) order, so the cost sums round as
    they would have.
    """
    if conn.dialect.name != "sqlite":
        return
    conn.execute(sa.delete(ROLLUPS))
    conn.execute(sa.delete(BUCKETS))
    stmt = sa.select(*(CALLS.c[name] for name in _COUNTED)).order_by(sa.literal_column("rowid"))
    result = conn.execution_options(yield_per=chunk).execute(stmt).mappings()
    for rows in result.partitions():
        add_calls(conn, rows)
