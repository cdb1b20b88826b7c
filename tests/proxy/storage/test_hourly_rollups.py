"""The hourly rollup cells against an independent recount from ``calls``, after the writes
that change calls: inserts, a running record replaced by its final one, deletes and a purge
whose cutoff falls inside an hour (its hour keeps the calls after the cutoff)."""

from __future__ import annotations

import dataclasses
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from wiretrace_proxy.storage import purge
from wiretrace_proxy.storage.engine import create_engine_for
from wiretrace_proxy.storage.migrate import upgrade_to_head
from wiretrace_proxy.storage.models import CALLS
from wiretrace_proxy.storage.rollups import BOUNDS
from wiretrace_proxy.storage.writes import upsert_records

from tests.proxy import seed

SUMS = ("calls", "prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens")
CELL = "substr(started_at, 1, 13), project, kind, coalesce(model, ''), op_name,"
CELL += " coalesce(op_version, ''), status"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'hourly.db'}")
    upgrade_to_head(engine)
    seed.insert(engine, seed.build())
    yield engine
    engine.dispose()


def cells(engine: Engine) -> dict[tuple[object, ...], tuple[object, ...]]:
    """``call_rollups`` as cell -> (calls, tokens..., cost_usd, cost_calls)."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT hour, project, kind, model, op_name, op_version, status, calls,"
            " prompt_tokens, completion_tokens, total_tokens, cached_tokens, cost_usd,"
            " cost_calls FROM call_rollups"
        )
        return {tuple(row[:7]): tuple(row[7:]) for row in rows}


def recounted(engine: Engine) -> dict[tuple[object, ...], tuple[object, ...]]:
    """The same, summed from ``calls`` by a plain GROUP BY on the stored hour."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT {CELL}, count(*), coalesce(sum(prompt_tokens), 0),"
            " coalesce(sum(completion_tokens), 0), coalesce(sum(total_tokens), 0),"
            " coalesce(sum(cached_tokens), 0), coalesce(sum(cost_usd), 0), count(cost_usd)"
            f" FROM calls GROUP BY {CELL}"
        )
        return {tuple(row[:7]): tuple(row[7:]) for row in rows}


def histograms(engine: Engine) -> tuple[Counter[tuple[object, ...]], Counter[tuple[object, ...]]]:
    """(stored buckets, buckets of the stored latencies), as (hour, metric, bucket) -> n."""
    stored: Counter[tuple[object, ...]] = Counter()
    counted: Counter[tuple[object, ...]] = Counter()
    with engine.connect() as conn:
        for hour, metric, bucket, n in conn.exec_driver_sql(
            "SELECT hour, metric, bucket, n FROM call_rollup_buckets"
        ):
            stored[hour, metric, bucket] += n
        for started, latency, ttft in conn.exec_driver_sql(
            "SELECT started_at, latency_ms, ttft_ms FROM calls"
        ):
            for metric, value in (("latency_ms", latency), ("ttft_ms", ttft)):
                if value is not None:
                    counted[str(started)[:13], metric, bisect_right(BOUNDS, value)] += 1
    return stored, counted


def assert_exact(engine: Engine) -> None:
    got, want = cells(engine), recounted(engine)
    assert set(got) == set(want)
    for cell, sums in want.items():
        *counts, cost, cost_calls = sums
        *stored, stored_cost, stored_cost_calls = got[cell]
        assert stored == counts and stored_cost_calls == cost_calls, cell
        assert stored_cost == pytest.approx(cost, rel=1e-12, abs=1e-15), cell
    stored_buckets, counted_buckets = histograms(engine)
    assert stored_buckets == counted_buckets


def test_inserts_fill_one_cell_per_hour_and_dimensions(engine: Engine) -> None:
    assert_exact(engine)
    hours = {cell[0] for cell in cells(engine)}
    assert len(hours) > 10 and all(len(str(h)) == 13 for h in hours)


def test_a_running_record_replaced_by_its_final_one_moves_between_cells(
    engine: Engine,
) -> None:
    running = next(r for r in seed.build() if r.status == "running")
    final = dataclasses.replace(running, status="ok", latency_ms=812.5, cost_usd=0.25)
    with engine.begin() as conn:
        assert upsert_records(conn, [final]) == []
    assert_exact(engine)


def test_deletes_and_a_purge_cut_inside_an_hour_keep_every_cell_exact(engine: Engine) -> None:
    with engine.begin() as conn:
        first = conn.execute(sa.select(CALLS.c.id).order_by(CALLS.c.id).limit(1)).scalar_one()
        conn.execute(sa.delete(CALLS).where(CALLS.c.id == first))
    assert_exact(engine)
    cutoff = datetime(2026, 1, 8, 9, 1, 30, tzinfo=UTC)  # between the 09:00 hour's calls
    counts = purge.purge(engine, cutoff)
    assert counts.calls > 0
    with engine.connect() as conn:
        kept = conn.exec_driver_sql(
            "SELECT count(*) FROM calls WHERE substr(started_at, 1, 13) = '2026-01-08 09'"
        ).scalar()
    assert kept  # the cutoff's hour kept its later calls, and its cell counts just those
    assert_exact(engine)
