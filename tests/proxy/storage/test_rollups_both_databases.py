"""The hourly rollups on SQLite and PostgreSQL against a recount of the stored calls in Python,
after every write that changes calls: batch inserts, span upserts (start, then end), an LLM
span folded into its proxied call, a running record replaced by its final one, reprice,
deletes and a purge cut inside an hour. Then ``compute_stats`` read from the rollups
answers the same on both databases for the same calls."""

from __future__ import annotations

import dataclasses
import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine
from wiretrace_proxy.callrecord import USAGE_KEYS, CallRecord
from wiretrace_proxy.storage import migrate, purge, rollups
from wiretrace_proxy.storage.engine import create_engine_for
from wiretrace_proxy.storage.filters import parse_filters
from wiretrace_proxy.storage.migrate import upgrade_to_head
from wiretrace_proxy.storage.models import CALLS
from wiretrace_proxy.storage.pricing import store_costs
from wiretrace_proxy.storage.rows import record_to_row
from wiretrace_proxy.storage.stats import compute_stats
from wiretrace_proxy.storage.writes import upsert_records, write_batch

from tests.factories import make_record
from tests.proxy import seed
from tests.proxy.storage.test_rollup_writes import varied

pytestmark = pytest.mark.both_databases

Cells = dict[tuple[object, ...], tuple[float, ...]]
Buckets = Counter[tuple[object, ...]]

_CELL = ("hour", "project", "kind", "model", "op_name", "op_version", "status")
_SUMS = ("calls", *USAGE_KEYS, "cost_calls")


def stored(engine: Engine) -> tuple[Cells, dict[tuple[object, ...], float], Buckets]:
    """The rollup tables: cell -> integer sums, cell -> cost, (cell, metric, bucket) -> n."""
    with engine.connect() as conn:
        cells = conn.execute(sa.select(rollups.ROLLUPS)).mappings().all()
        buckets = conn.execute(sa.select(rollups.BUCKETS)).mappings().all()
    sums = {tuple(r[c] for c in _CELL): tuple(float(r[s]) for s in _SUMS) for r in cells}
    costs = {tuple(r[c] for c in _CELL): float(r["cost_usd"]) for r in cells}
    counted: Buckets = Counter()
    for r in buckets:
        counted[(*(r[c] for c in _CELL), r["metric"], r["bucket"])] += r["n"]
    return sums, costs, counted


def _hour(started_at: object) -> str:
    if isinstance(started_at, datetime):
        return started_at.astimezone(UTC).strftime("%Y-%m-%d %H")
    return str(started_at)[:13]  # SQLite's stored UTC text


def recounted(engine: Engine) -> tuple[Cells, dict[tuple[object, ...], float], Buckets]:
    """The same three, summed in Python from every stored call."""
    columns = ("started_at", *_CELL[1:], *USAGE_KEYS, "cost_usd", "latency_ms", "ttft_ms")
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*(CALLS.c[c] for c in columns))).mappings().all()
    sums: dict[tuple[object, ...], list[float]] = {}
    costs: dict[tuple[object, ...], float] = {}
    buckets: Buckets = Counter()
    for row in rows:
        cell = (
            _hour(row["started_at"]),
            row["project"],
            row["kind"],
            row["model"] or "",
            row["op_name"],
            row["op_version"] or "",
            row["status"],
        )
        total = sums.setdefault(cell, [0.0] * len(_SUMS))
        total[0] += 1
        for i, name in enumerate(USAGE_KEYS, start=1):
            total[i] += row[name] or 0
        cost = row["cost_usd"]
        total[-1] += cost is not None
        costs[cell] = costs.get(cell, 0.0) + (cost or 0.0 if cost is not None else 0.0)
        for metric in ("latency_ms", "ttft_ms"):
            if row[metric] is not None:
                buckets[(*cell, metric, bisect_right(rollups.BOUNDS, row[metric]))] += 1
    return {c: tuple(s) for c, s in sums.items()}, costs, buckets


def assert_exact(engine: Engine) -> None:
    """Counts, token sums and buckets equal; cost sums equal but for their rounding."""
    got_sums, got_costs, got_buckets = stored(engine)
    want_sums, want_costs, want_buckets = recounted(engine)
    assert got_sums == want_sums
    assert got_buckets == want_buckets
    for cell, cost in want_costs.items():
        if math.isnan(cost):
            assert math.isnan(got_costs[cell]), cell
        else:
            assert got_costs[cell] == pytest.approx(cost, rel=1e-9, abs=1e-12), cell


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    """The conftest ``engine`` (SQLite, then PostgreSQL) with the seeded traces in it."""
    seed.insert(engine, seed.build())
    return engine


def test_the_read_path_takes_the_rollups_on_both_databases(seeded: Engine) -> None:
    with seeded.connect() as conn:
        assert rollups.usable(conn, "hour", parse_filters({}))
        assert rollups.rollup_calls(conn) == len(seed.build())


def test_batches_of_varied_calls_are_counted_exactly(seeded: Engine) -> None:
    records = varied(300, first=10_000)
    for start in range(0, len(records), 50):
        assert write_batch(seeded, records[start : start + 50]).written == 50
    assert_exact(seeded)


def test_span_upserts_move_a_span_between_cells_once(seeded: Engine) -> None:
    start = make_record(
        20_001,
        kind="op",
        op_name="op.step",
        status="running",
        model=None,
        usage=None,
        cost_usd=None,
        latency_ms=None,
        ttft_ms=None,
    )
    end = dataclasses.replace(
        start,
        status="ok",
        latency_ms=1234.5,
        started_at=start.started_at + timedelta(hours=2),
        cost_usd=0.5,
    )
    with seeded.begin() as conn:
        assert upsert_records(conn, [start]) == []
    assert_exact(seeded)
    with seeded.begin() as conn:
        assert upsert_records(conn, [end]) == []
        assert upsert_records(conn, [end]) == []  # sent again: nothing changes
    assert_exact(seeded)


def _llm_span(call: CallRecord, n: int) -> CallRecord:
    """An ingested OTLP LLM span of the same request as ``call`` (its response id)."""
    return make_record(
        n,
        trace_id=call.trace_id,
        started_at=call.started_at - timedelta(milliseconds=5),
        latency_ms=260.0,
        cost_usd=None,
        attributes={
            "wiretrace.source": "otlp",
            "otel": {"response_id": "chatcmpl-fold", "span_id": f"{n:016x}"},
        },
        output=None,
    )


def test_an_llm_span_folded_into_its_proxied_call_counts_once(seeded: Engine) -> None:
    call = make_record(30_001, output={"id": "chatcmpl-fold", "object": "chat.completion"})
    assert write_batch(seeded, [call]).written == 1
    span = _llm_span(call, 30_002)
    assert write_batch(seeded, [span]).written == 1
    with seeded.connect() as conn:
        pair = sa.select(CALLS.c.id, CALLS.c.latency_ms).where(CALLS.c.id.in_([call.id, span.id]))
        stored_pair = conn.execute(pair).all()
    assert [tuple(row) for row in stored_pair] == [(call.id, 250.0)]  # the span folded into it
    assert_exact(seeded)


def test_a_running_row_replaced_by_its_final_record_and_repriced_costs(seeded: Engine) -> None:
    running = make_record(40_001, status="running", latency_ms=None, cost_usd=None)
    assert write_batch(seeded, [running]).written == 1
    final = dataclasses.replace(running, status="ok", latency_ms=2_000.0, cost_usd=0.03)
    assert write_batch(seeded, [final], replacing={running.id}).written == 1
    assert_exact(seeded)
    with seeded.connect() as conn:
        ids = list(conn.execute(sa.select(CALLS.c.id).order_by(CALLS.c.id).limit(9)).scalars())
    store_costs(seeded, [(call_id, 0.001 * i if i % 3 else None) for i, call_id in enumerate(ids)])
    assert_exact(seeded)


def test_deletes_and_a_purge_cut_inside_an_hour(seeded: Engine) -> None:
    with seeded.begin() as conn:
        first = conn.execute(sa.select(CALLS.c.id).order_by(CALLS.c.id).limit(1)).scalar_one()
        conn.execute(sa.delete(CALLS).where(CALLS.c.id == first))
    assert_exact(seeded)
    cutoff = datetime(2026, 1, 8, 9, 1, 30, tzinfo=UTC)  # between the 09:00 hour's calls
    assert purge.purge(seeded, cutoff, batch_size=7).calls > 0
    with seeded.connect() as conn:
        left = conn.execute(sa.select(sa.func.min(CALLS.c.started_at))).scalar()
    assert _hour(left) == "2026-01-08 09"  # the cutoff's hour kept its later calls
    assert_exact(seeded)
    purge.purge(seeded, datetime(2100, 1, 1, tzinfo=UTC))
    assert stored(seeded) == ({}, {}, Counter())


def test_the_migration_counts_the_calls_stored_before_it(seeded: Engine) -> None:
    """Down to 0014 (PostgreSQL: no triggers, empty tables, stats read ``calls``), calls
    written meanwhile, then up again: the backfill counts every call, days apart too."""
    config = migrate.alembic_config(seeded)
    command.downgrade(config, "0014")
    postgres = seeded.dialect.name == "postgresql"
    with seeded.connect() as conn:
        assert rollups.usable(conn, "hour", parse_filters({})) is not postgres
    if postgres:
        assert stored(seeded) == ({}, {}, Counter())
        with seeded.begin() as conn:  # what a replica of the older version writes meanwhile
            there = {column["name"] for column in sa.inspect(conn).get_columns("calls")}
            rows = [record_to_row(r) for r in varied(200, seed=5)]
            conn.execute(
                sa.insert(CALLS), [{k: v for k, v in r.items() if k in there} for r in rows]
            )
    command.upgrade(config, "head")
    with seeded.connect() as conn:
        assert rollups.usable(conn, "hour", parse_filters({}))
    assert_exact(seeded)


@pytest.fixture
def sqlite_twin(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'twin.db'}")
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


STATS_QUESTIONS: list[tuple[str, dict[str, str]]] = [
    ("hour", {}),
    ("day", {"since": "2026-01-05T16:00:30Z", "until": "2026-01-07T03:06:00.0005Z"}),
    ("model", {"since": "2026-01-06T00:00:00Z"}),
    ("op_name", {"status": "ok"}),
    ("status", {"project": "default", "until": "2026-01-07T10:30:00Z"}),
]


def _stats(engine: Engine, group_by: str, params: dict[str, str]) -> Any:
    with engine.connect() as conn:
        stats = compute_stats(conn, group_by, parse_filters(params), raw_limit=0, limit=10_000)
    return stats.to_api()


def _without_costs(answer: Any) -> tuple[Any, list[float | None]]:
    """``answer`` with its cost sums taken out (compared apart: float sums round by order)."""
    costs = [g["cost_usd"] for g in answer["groups"]] + [answer["totals"]["cost_usd"]]
    for part in (*answer["groups"], answer["totals"]):
        part["cost_usd"] = None
    return answer, costs


def test_stats_from_the_rollups_answer_alike_on_both_databases(
    seeded: Engine, sqlite_twin: Engine
) -> None:
    records = [*seed.build()]
    seed.insert(sqlite_twin, records)
    for group_by, params in STATS_QUESTIONS:
        here, costs = _without_costs(_stats(seeded, group_by, params))
        there, twin_costs = _without_costs(_stats(sqlite_twin, group_by, params))
        assert here["percentiles"] == "approximate" and here["totals"]["calls"] > 0
        assert here == there, (group_by, params)
        assert [c is None for c in costs] == [c is None for c in twin_costs]
        assert [c or 0.0 for c in costs] == pytest.approx([c or 0.0 for c in twin_costs])
