"""Read ``/api/stats`` from the per-hour rollups instead of scanning ``calls``.

Why: on SQLite a full scan of a million calls takes over a second before any percentile
is computed (every row carries its JSON bodies), while the rollups (migration 0005, per
hour since 0013, on PostgreSQL too since 0015) hold a few rows per hour and dimension. They
are kept in the same transaction as every insert, update and delete of a call (inserts by
``rollup_writes``, updates and deletes by triggers), so counts, tokens and cost read from
them are exact.
Latency and TTFT percentiles come from logarithmic histograms, eight buckets to an octave: a value
read from them lies between the buckets of the two ranks the exact ``percentile_cont``
interpolates between. With the many calls the rollups are used for (over
``stats.RAW_LIMIT``) those ranks share a bucket, so it is within 9.05% (usually far less, as
it is interpolated inside the bucket); ``tests/proxy/api/test_stats.py`` checks both.

Only questions the rollups can answer come here: a group key and filters among their
dimensions, ``usable`` decides; anything else is read from ``calls`` (``storage.stats``).
A range need not fall on whole hours: ``split`` cuts it into the whole UTC hours inside it,
read here, and the partial hours at its edges, which ``storage.stats`` reads from ``calls``
(``started_at`` is indexed, so an edge costs at most an hour of calls). "The last 24 hours"
at any minute is thus exact in its counts and fast. Days are sums of their hours.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wiretrace_proxy.storage.filters import CallFilter
from wiretrace_proxy.storage.models import CallRollup, CallRollupBucket

__all__ = [
    "BOUNDS",
    "GROUP_KEYS",
    "INSERT_TRIGGER",
    "TRIGGERS",
    "histogram",
    "histogram_quantile",
    "read_buckets",
    "read_sums",
    "rollup_calls",
    "split",
    "usable",
]

ROLLUPS = cast(sa.Table, CallRollup.__table__)  # type: ignore[attr-defined]
BUCKETS = cast(sa.Table, CallRollupBucket.__table__)  # type: ignore[attr-defined]

BOUNDS: tuple[float, ...] = tuple(2.0 ** (i / 8 - 7) for i in range(8 * 31 + 1))
"""Upper bounds in ms: bucket 0 is below 2**-7 ms, bucket i is [BOUNDS[i-1], BOUNDS[i]),
bucket ``len(BOUNDS)`` is 2**24 ms (4.7 hours) and above. Frozen in migration 0005."""
GROUP_KEYS = ("model", "op_name", "op_version", "project", "status", "day", "hour")
"""Group keys the rollups can answer (``hour`` is their time grain, a day its 24 hours)."""
FILTERS = ("project", "kind", "model", "op_name", "op_version", "status")
"""Exact filters the rollups can answer, besides ``since``/``until`` (see ``split``).

``roots_only`` is not among them: a call whose parent was never recorded counts as a root
(``filters._is_root``), which depends on other rows, some of which may arrive later."""
TRIGGERS = ("calls_rollup_update", "calls_rollup_delete")
"""The triggers that keep the rollups through updates and deletes of calls (migration 0005
on SQLite, 0015 on PostgreSQL)."""
INSERT_TRIGGER = "calls_rollup_insert"
"""0005's insert trigger, dropped by 0008: inserts are added by ``rollup_writes`` since."""
_NULLABLE = ("model", "op_version")
"""Dimensions stored as ``''`` when the call's value is NULL."""
HOUR = timedelta(hours=1)


def usable(conn: Connection, group_by: str, f: CallFilter) -> bool:
    """Whether this question can be answered from the rollups, and they are maintained.

    The trigger check costs a lookup in the schema table and guards against a later
    migration that rebuilt ``calls`` and dropped the triggers with it (stale rollups), and
    against the insert trigger being back beside ``rollup_writes`` (every call counted
    twice): wrong sums are ignored rather than trusted.
    """
    query = _TRIGGER_QUERIES.get(conn.dialect.name)
    if query is None or group_by not in GROUP_KEYS:
        return False
    if f.properties or f.minimum or f.maximum or f.q or f.roots_only or f.feedback is not None:
        return False
    if not set(f.exact) <= set(FILTERS):
        return False
    found = conn.execute(query, {"names": [*TRIGGERS, INSERT_TRIGGER]}).scalars()
    return set(found) == set(TRIGGERS)


_TRIGGER_QUERIES = {
    "sqlite": sa.text(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name IN :names"
    ).bindparams(sa.bindparam("names", expanding=True)),
    "postgresql": sa.text(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass('calls')"
        " AND NOT tgisinternal AND tgname IN :names"
    ).bindparams(sa.bindparam("names", expanding=True)),
}
"""The rollup triggers found on ``calls``, per dialect (PostgreSQL's since migration 0015)."""


def _floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def split(f: CallFilter) -> tuple[CallFilter | None, list[CallFilter]]:
    """``f`` cut into the whole UTC hours of its range (None when it holds none) and the
    partial hours at its edges (filters on ``calls``; none when it falls on hours)."""
    since, until = f.since, f.until
    start = None if since is None else _floor_hour(since)
    if start is not None and start != since:
        start += HOUR
    end = None if until is None else _floor_hour(until)
    if start is not None and end is not None and start >= end:
        return None, [f]
    edges = []
    if since is not None and start != since:
        edges.append(replace(f, until=start))
    if until is not None and end != until:
        edges.append(replace(f, since=end))
    return replace(f, since=start, until=end), edges


def histogram(values: Iterable[float]) -> Counter[int]:
    """Values as a bucket histogram, bucketed as the rollups bucket them."""
    return Counter(bisect_right(BOUNDS, value) for value in values)


def rollup_calls(conn: Connection) -> int:
    """How many calls the rollups count (the whole table, read in milliseconds)."""
    return int(conn.execute(sa.select(sa.func.sum(ROLLUPS.c.calls))).scalar() or 0)


def _where(table: sa.Table, stmt: sa.Select[Any], f: CallFilter) -> sa.Select[Any]:
    for name, value in f.exact.items():
        stmt = stmt.where(table.c[name] == value)
    if f.since is not None:
        stmt = stmt.where(table.c.hour >= _hour_key(f.since))
    if f.until is not None:
        stmt = stmt.where(table.c.hour < _hour_key(f.until))
    return stmt


def _hour_key(moment: datetime) -> str:
    """The ``hour`` cell holding ``moment`` (whole hours only reach here, see ``split``)."""
    return moment.strftime("%Y-%m-%d %H")


def _key(table: sa.Table, group_by: str) -> sa.ColumnElement[Any]:
    if group_by == "day":
        return sa.func.substr(table.c.hour, 1, 10)
    column = table.c[group_by]
    return sa.func.nullif(column, "") if group_by in _NULLABLE else column


def read_sums(conn: Connection, group_by: str, f: CallFilter) -> list[sa.Row[Any]]:
    """Per group: key, calls, errors, the token sums, cost_usd, cost_calls (all exact)."""
    key = _key(ROLLUPS, group_by).label("key")
    c = ROLLUPS.c
    stmt = sa.select(
        key,
        sa.func.sum(c.calls).label("calls"),
        sa.func.sum(sa.case((c.status == "error", c.calls), else_=0)).label("errors"),
        *(sa.func.sum(c[name]).label(name) for name in _TOKENS),
        sa.func.sum(c.cost_usd).label("cost_usd"),
        sa.func.sum(c.cost_calls).label("cost_calls"),
    ).group_by(key)
    return list(conn.execute(_where(ROLLUPS, stmt, f)))


_TOKENS = (
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_tokens",
    "reasoning_tokens",
)


def read_buckets(
    conn: Connection, group_by: str, f: CallFilter
) -> dict[tuple[object, str], Counter[int]]:
    """``(key, metric) -> {bucket: count}`` for ``latency_ms`` and ``ttft_ms``."""
    key = _key(BUCKETS, group_by).label("key")
    stmt = sa.select(key, BUCKETS.c.metric, BUCKETS.c.bucket, sa.func.sum(BUCKETS.c.n)).group_by(
        key, BUCKETS.c.metric, BUCKETS.c.bucket
    )
    histograms: dict[tuple[object, str], Counter[int]] = {}
    for group, metric, bucket, n in conn.execute(_where(BUCKETS, stmt, f)):
        if n:
            histograms.setdefault((group, metric), Counter())[bucket] = int(n)
    return histograms


def merge(histograms: Iterable[Mapping[int, int]]) -> Counter[int]:
    total: Counter[int] = Counter()
    for histogram in histograms:
        total.update(histogram)
    return total


def histogram_quantile(counts: Mapping[int, int], p: float) -> float | None:
    """The ``p`` quantile (0..1) of a bucket histogram, or None when it is empty.

    Same rank rule as ``percentile_cont`` (rank ``p * (n - 1)``); inside its bucket the
    value is placed geometrically, as if the bucket's values were spread evenly on a log
    scale (linearly in bucket 0, whose lower bound is 0; the overflow bucket gives its
    lower bound).
    """
    n = sum(counts.values())
    if n == 0:
        return None
    rank = p * (n - 1)
    seen = 0
    for bucket in sorted(counts):
        count = counts[bucket]
        if rank < seen + count:
            return _inside(bucket, (rank - seen + 0.5) / count)
        seen += count
    return _inside(max(counts), 1.0)


def _inside(bucket: int, fraction: float) -> float:
    fraction = min(max(fraction, 0.0), 1.0)
    if bucket >= len(BOUNDS):
        return BOUNDS[-1]
    high = BOUNDS[bucket]
    if bucket == 0:
        return high * fraction
    low = BOUNDS[bucket - 1]
    return low * math.exp(math.log(high / low) * fraction)
