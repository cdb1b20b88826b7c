"""storage.rollup_writes: the writer keeps the stats rollups exactly as the insert trigger did.

Each test writes the same calls twice: into a database at head with 0005's
``calls_rollup_insert`` trigger back on the hour key of 0013 (it counts every inserted row),
with plain Core inserts; and into one at head, through ``storage.writes``. The two rollup
tables must then be equal row for row, floats included (the cost sum is rounded in the
trigger's order).
"""

from __future__ import annotations

import importlib.util
import math
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine
from wiretrace_proxy.callrecord import CallRecord, Status, Usage
from wiretrace_proxy.storage import migrate, rollup_writes, rollups, writes
from wiretrace_proxy.storage.engine import create_engine_for
from wiretrace_proxy.storage.models import CALLS
from wiretrace_proxy.storage.rows import record_to_row

from tests.factories import make_record

Tables = dict[str, list[tuple[object, ...]]]

ZONE = timezone(timedelta(hours=-5))
STATUSES: tuple[Status, ...] = ("ok", "ok", "error", "cancelled", "running")


VERSIONS = Path(migrate.__file__).parent / "migrations" / "versions"


def _hourly_migration() -> Any:
    spec = importlib.util.spec_from_file_location("hourly", VERSIONS / "0013_hourly_rollups.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HOURLY = _hourly_migration()


@pytest.fixture
def trigger_db(tmp_path: Path) -> Iterator[Engine]:
    """A database at head whose rollups are kept by an insert trigger on the hour key."""
    engine = create_engine_for(f"sqlite:///{tmp_path / 'trigger.db'}")
    migrate.upgrade_to_head(engine)
    body = HOURLY._change("NEW", 1, "hour")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TRIGGER calls_rollup_insert AFTER INSERT ON calls BEGIN\n{body}\nEND"
        )
    yield engine
    engine.dispose()


@pytest.fixture
def daily_db(tmp_path: Path) -> Iterator[Engine]:
    """A database at 0007: per-day rollups kept by 0005's insert trigger."""
    engine = create_engine_for(f"sqlite:///{tmp_path / 'daily.db'}")
    command.upgrade(migrate.alembic_config(engine), "0007")
    yield engine
    engine.dispose()


@pytest.fixture
def writer_db(tmp_path: Path) -> Iterator[Engine]:
    """A database at head: inserts counted by ``rollup_writes``."""
    engine = create_engine_for(f"sqlite:///{tmp_path / 'writer.db'}")
    migrate.upgrade_to_head(engine)
    yield engine
    engine.dispose()


def varied(count: int, seed: int = 1, first: int = 1) -> list[CallRecord]:
    """Calls over many cells: NULL model and op_version, NULL and odd costs, tokens and
    times (zero, negative, infinite, NaN, past the last bucket), days either side of UTC
    midnight in another time zone."""
    rng = random.Random(seed)
    base = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    out = []
    odd = (0.0, -1.0, 2.0**-9, 2.0**24, 1e12, math.inf, -math.inf, math.nan, None)
    for i in range(count):
        started = base + timedelta(minutes=rng.randrange(0, 4 * 24 * 60))
        if i % 5 == 0:
            started = started.astimezone(ZONE)
        latency = rng.choice(odd) if i % 7 == 0 else rng.lognormvariate(6, 2)
        ttft = None if i % 3 else rng.choice((*odd, rng.uniform(0, 50)))
        prompt = rng.choice((None, 0, 3, 1500))
        usage = None if prompt is None else Usage(prompt, rng.choice((None, 7)), None, 2, None)
        cost = rng.choice((None, 0.1, 0.2, 1e-7, rng.random() / 1000, math.nan))
        out.append(
            make_record(
                first + i,
                project=rng.choice(("default", "other")),
                kind=rng.choice(("llm", "op")),
                model=rng.choice((None, "gpt-4o", "gpt-4o-mini", "")),
                op_name=rng.choice(("openai.chat.completions.create", "op.step")),
                op_version=rng.choice((None, "v1", "v2")),
                status=rng.choice(STATUSES),
                started_at=started,
                latency_ms=latency,
                ttft_ms=ttft,
                usage=usage,
                cost_usd=cost,
            )
        )
    return out


def tables(engine: Engine) -> Tables:
    with engine.connect() as conn:
        return {
            name: [
                tuple(row)
                for row in conn.exec_driver_sql(
                    f"SELECT * FROM {name} ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9"
                )
            ]
            for name in ("call_rollups", "call_rollup_buckets")
        }


def same(a: Tables, b: Tables) -> None:
    """Equal row for row; NaN never occurs in the rollups, so ``==`` is exact."""
    assert a.keys() == b.keys()
    for name in a:
        assert len(a[name]) == len(b[name]), name
        for x, y in zip(a[name], b[name], strict=True):
            assert x == y and [type(v) for v in x] == [type(v) for v in y], (name, x, y)


def by_trigger(engine: Engine, batches: Sequence[Sequence[CallRecord]]) -> None:
    """Plain inserts of the columns the older database has (``merge_key`` came in 0011)."""
    for batch in batches:
        with engine.begin() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("calls")}
            rows = [{k: v for k, v in record_to_row(r).items() if k in columns} for r in batch]
            conn.execute(sa.insert(CALLS), rows)


def by_writer(engine: Engine, batches: Sequence[Sequence[CallRecord]]) -> None:
    for batch in batches:
        result = writes.write_batch(engine, batch)
        assert result.written == len(batch) and not result.split


def chunks(records: list[CallRecord], size: int) -> list[list[CallRecord]]:
    return [records[i : i + size] for i in range(0, len(records), size)]


@pytest.mark.parametrize("size", [1, 7, 500])
def test_batches_store_what_the_trigger_stored(
    trigger_db: Engine, writer_db: Engine, size: int
) -> None:
    records = varied(1200)
    by_trigger(trigger_db, chunks(records, size))
    by_writer(writer_db, chunks(records, size))
    want = tables(trigger_db)
    assert len(want["call_rollups"]) > 100  # many cells per batch
    assert any(row[3] == "" for row in want["call_rollups"])  # NULL model
    assert any(row[5] == "" for row in want["call_rollups"])  # NULL op_version
    same(tables(writer_db), want)


def test_the_cost_sum_is_rounded_in_insert_order(trigger_db: Engine, writer_db: Engine) -> None:
    """0.1 + 0.2 + 0.3 differs from 0.1 + (0.2 + 0.3): the trigger's order is kept."""
    costs = [0.1, 0.2, 0.3, 1e-17, 1e16, 1.0, -1e16]
    records = [make_record(i + 1, cost_usd=c) for i, c in enumerate(costs)]
    first, rest = records[:1], records[1:]
    by_trigger(trigger_db, [first, rest])
    by_writer(writer_db, [first, rest])
    same(tables(writer_db), tables(trigger_db))


def close(a: Tables, b: Tables) -> None:
    """Equal row for row but for cost sums, added in another order (the last bits)."""
    assert a.keys() == b.keys()
    for name in a:
        assert len(a[name]) == len(b[name]), name
        for x, y in zip(a[name], b[name], strict=True):
            want = [pytest.approx(v, rel=1e-12) if type(v) is float else v for v in y]
            assert list(x) == want, (name, x, y)


def test_a_database_migrated_from_the_daily_trigger_is_exact_per_hour(
    daily_db: Engine, writer_db: Engine
) -> None:
    before, after = varied(300, seed=2), varied(300, seed=3, first=301)
    engine = daily_db
    by_trigger(engine, [before])
    migrate.upgrade_to_head(engine)
    by_writer(engine, chunks(after, 100))
    by_writer(writer_db, chunks(before + after, 100))
    close(tables(engine), tables(writer_db))
    with engine.connect() as conn:
        names = conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'calls_rollup%'"
        )
        assert set(names.scalars()) == set(rollups.TRIGGERS)


def test_hourly_downgrade_folds_the_hours_back_into_0005s_days(daily_db: Engine) -> None:
    """0013 down gives the day cells 0005's triggers kept, and those triggers again."""
    config = migrate.alembic_config(daily_db)
    sql = "SELECT name, sql FROM sqlite_master WHERE name LIKE 'calls_rollup%' ORDER BY name"
    by_trigger(daily_db, chunks(varied(400, seed=6), 50))
    command.upgrade(config, "0012")
    with daily_db.connect() as conn:
        triggers = list(conn.exec_driver_sql(sql))
    days = tables(daily_db)
    command.upgrade(config, "0013")
    with daily_db.connect() as conn:
        hours = conn.exec_driver_sql("SELECT count(DISTINCT hour) FROM call_rollups").scalar()
        assert hours is not None and hours > 4 * 24 / 2  # the calls span four days
    command.downgrade(config, "0012")
    close(tables(daily_db), days)
    with daily_db.connect() as conn:
        assert list(conn.exec_driver_sql(sql)) == triggers


def test_downgrade_recreates_the_trigger_as_0005_made_it(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'down.db'}")
    config = migrate.alembic_config(engine)
    sql = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
    try:
        command.upgrade(config, "0007")
        with engine.connect() as conn:
            original = list(conn.exec_driver_sql(sql))
        command.upgrade(config, "0008")
        command.downgrade(config, "0007")
        with engine.connect() as conn:
            assert list(conn.exec_driver_sql(sql)) == original
    finally:
        engine.dispose()


def test_a_refused_batch_retried_one_by_one_counts_each_stored_call_once(
    trigger_db: Engine, writer_db: Engine
) -> None:
    records = varied(60, seed=4)
    taken = records[10]
    by_trigger(trigger_db, [[taken]])
    with writer_db.begin() as conn:
        conn.execute(sa.insert(CALLS), [record_to_row(taken)])
    by_trigger(trigger_db, [[r for r in records if r is not taken]])
    result = writes.write_batch(writer_db, records)  # the taken id refuses the batch
    assert result.split and result.written == len(records) - 1
    assert [call_id for call_id, _ in result.refused] == [taken.id]
    with writer_db.begin() as conn:  # the pre-inserted row, counted as the trigger did
        rollup_writes.add_calls(conn, [record_to_row(taken)])
    same(tables(writer_db), tables(trigger_db))


def test_a_failed_rollup_upsert_rolls_back_its_rows(writer_db: Engine) -> None:
    """The rows and their rollups are one transaction: if counting fails, nothing is kept."""
    record = make_record(1)
    with writer_db.begin() as conn:
        conn.exec_driver_sql("DROP TABLE call_rollup_buckets")
    result = writes.write_batch(writer_db, [record])
    assert result.written == 0 and result.failure is not None
    with writer_db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(CALLS)).scalar_one() == 0
        assert rollups.rollup_calls(conn) == 0


def span(n: int, **changes: object) -> CallRecord:
    """An SDK span of trace 1 (costs of a few bits, so any order of sums is exact)."""
    defaults: dict[str, object] = {
        "kind": "op",
        "trace_id": "1" * 32,
        "model": None,
        "cost_usd": n / 64,
        "op_version": "v1",
    }
    return make_record(n, **(defaults | changes))


def test_span_upserts_count_a_new_row_once_and_a_merged_row_as_its_final_self(
    trigger_db: Engine, writer_db: Engine
) -> None:
    starts = [span(n, status="running", latency_ms=None, ended_at=None) for n in range(1, 6)]
    ends = [span(n, status="ok", latency_ms=100.0 * n, usage=Usage(1, 2, 3)) for n in (1, 2, 6)]
    proxied = make_record(7)  # an llm call: a span with its id is refused
    intruder = span(7)
    writes.write_batch(writer_db, [proxied])
    with trigger_db.begin() as conn:
        conn.execute(sa.insert(CALLS), [record_to_row(proxied)])
    old = writes._upsert_statement("sqlite")  # one statement, as before 0008
    for batch in (starts, ends, [intruder]):
        with trigger_db.begin() as conn:
            conn.execute(old, [record_to_row(r) for r in batch])
    refused = []
    for batch in (starts, ends, [intruder]):
        with writer_db.begin() as conn:
            refused += writes.upsert_records(conn, batch)
    assert refused == [intruder.id]
    same(tables(writer_db), tables(trigger_db))
    with writer_db.connect() as conn:
        assert rollups.rollup_calls(conn) == 7  # 5 starts (2 merged), 1 new end, the call


def test_an_upsert_rolled_back_counts_nothing(writer_db: Engine) -> None:
    with pytest.raises(RuntimeError), writer_db.begin() as conn:
        writes.upsert_records(conn, [span(1)])
        raise RuntimeError("the caller refuses the batch")
    with writer_db.connect() as conn:
        assert rollups.rollup_calls(conn) == 0


def test_with_the_insert_trigger_back_the_rollups_are_not_trusted(writer_db: Engine) -> None:
    """Both the trigger and the writer would count each call: stats read ``calls`` then."""
    from wiretrace_proxy.storage.filters import parse_filters

    with writer_db.connect() as conn:
        assert rollups.usable(conn, "model", parse_filters({}))
    trigger = "CREATE TRIGGER calls_rollup_insert AFTER INSERT ON calls BEGIN SELECT 1; END"
    with writer_db.begin() as conn:
        conn.exec_driver_sql(trigger)
    with writer_db.connect() as conn:
        assert not rollups.usable(conn, "model", parse_filters({}))


def test_a_cell_is_the_stored_utc_hour_with_empty_strings_for_nulls() -> None:
    local = datetime(2026, 3, 2, 0, 30, tzinfo=UTC).astimezone(ZONE)  # 1 March, local
    row = record_to_row(make_record(1, started_at=local, model=None, op_version=None))
    assert rollup_writes.cell_of(row) == (
        "2026-03-02 00",
        "p",
        "llm",
        "",
        "openai.chat.completions.create",
        "",
        "ok",
    )


def test_recount_rebuilds_what_the_trigger_stored(trigger_db: Engine) -> None:
    by_trigger(trigger_db, chunks(varied(700, seed=5), 300))
    want = tables(trigger_db)
    with trigger_db.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER calls_rollup_insert")
        rollup_writes.recount(conn, chunk=64)
    same(tables(trigger_db), want)
