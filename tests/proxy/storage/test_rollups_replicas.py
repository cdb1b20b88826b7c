"""Replicas writing calls into the same rollup cells at the same moment on one PostgreSQL:
each is its own process with its own engine, as ``wiretrace serve`` replicas are, and every
call is counted once (the cells are additive upserts, never a read then a write)."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Barrier

import sqlalchemy as sa
from wiretrace_proxy.callrecord import Usage
from wiretrace_proxy.storage.engine import create_engine_for
from wiretrace_proxy.storage.migrate import upgrade_to_head
from wiretrace_proxy.storage.rollups import ROLLUPS
from wiretrace_proxy.storage.writes import write_batch

from tests.factories import make_record
from tests.proxy.storage.test_rollups_both_databases import assert_exact

REPLICAS = 3
BATCHES = 40
BATCH = 20
HOUR = datetime(2026, 5, 4, 10, tzinfo=UTC)


def replica(url: str, number: int, start: Barrier) -> None:
    """Write ``BATCHES`` batches of calls spread over two models and two statuses, all in
    ``HOUR``, once every replica is ready."""
    engine = create_engine_for(url)
    try:
        start.wait(timeout=60)
        for b in range(BATCHES):
            records = []
            for i in range(BATCH):
                n = (number * BATCHES + b) * BATCH + i + 1
                records.append(
                    make_record(
                        n,
                        started_at=HOUR + timedelta(seconds=n % 3600),
                        model=("gpt-4o", "gpt-4o-mini")[n % 2],
                        status=("ok", "error")[(n // 2) % 2],
                        usage=Usage(prompt_tokens=n % 7, completion_tokens=3, total_tokens=None),
                        latency_ms=float(n % 5000),
                        cost_usd=0.001,
                    )
                )
            result = write_batch(engine, records)
            assert result.written == BATCH, result
    finally:
        engine.dispose()


def test_replicas_inserting_into_the_same_cells_at_once_count_every_call(
    postgres_url: str,
) -> None:
    engine = create_engine_for(postgres_url)
    upgrade_to_head(engine)
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(REPLICAS)
    replicas = [
        spawn.Process(target=replica, args=(postgres_url, number, start))
        for number in range(REPLICAS)
    ]
    for process in replicas:
        process.start()
    for process in replicas:
        process.join(timeout=120)
    try:
        assert [p.exitcode for p in replicas] == [0] * REPLICAS
        with engine.connect() as conn:
            cells = conn.execute(
                sa.select(ROLLUPS.c.model, ROLLUPS.c.status, ROLLUPS.c.calls)
            ).all()
        total = REPLICAS * BATCHES * BATCH
        assert sorted(tuple(c) for c in cells) == [
            ("gpt-4o", "error", total // 4),
            ("gpt-4o", "ok", total // 4),
            ("gpt-4o-mini", "error", total // 4),
            ("gpt-4o-mini", "ok", total // 4),
        ]
        assert_exact(engine)
    finally:
        for process in replicas:
            if process.is_alive():
                process.kill()
        engine.dispose()
