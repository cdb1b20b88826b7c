"""writer: fail open, lose nothing on a clean stop, count every item exactly once.

``docs/architecture.md``, "Principles": fail open, lose nothing on a clean stop, hot path is
sacred. The writer is a fail-open boundary, so a broad ``except`` is allowed here: a failure
is logged once, then counted.
Tests wait on ``flush``/``stop`` and events, never on sleeps.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from blockbuster import blockbuster_ctx
from sqlalchemy.engine import Engine, make_url
from wiretrace_proxy import delivery
from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.endpoints import GENERIC_OP
from wiretrace_proxy.forward.capture import Capture, RequestMeta
from wiretrace_proxy.record.recorder import Recorder
from wiretrace_proxy.settings import Settings
from wiretrace_proxy.storage import calls as stored
from wiretrace_proxy.storage import writes as queries
from wiretrace_proxy.storage.engine import create_engine_for
from wiretrace_proxy.storage.migrate import upgrade_to_head
from wiretrace_proxy.storage.spool import Spool
from wiretrace_proxy.writer import RecordBuilder, Writer, WriterStats

from tests import factories
from tests.harness import select_records

pytestmark = pytest.mark.both_databases  # each test on SQLite and PostgreSQL

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


class BuggyRecorder(Recorder):
    """The real recorder, with a bug on one path (so its fallback record is exercised)."""

    def build(self, capture: Capture) -> CallRecord:
        if capture.path == "/v1/boom":
            raise KeyError("recorder bug")
        return super().build(capture)


RECORDER = BuggyRecorder(Settings(), "salt")


def make_capture(n: int, *, path: str = "/v1/chat/completions", wall: float = 0.0) -> Capture:
    return factories.make_capture(
        n,
        path=path,
        wall=wall or None,
        request_headers=[("authorization", "Bearer sk-secret")],
        meta=RequestMeta(project="proj", traceparent=f"00-{TRACE}-{PARENT}-01", user_id="u"),
        status=502,
    )


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine_for(db_url, busy_timeout_ms=50)
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def new_writer(engine: Engine) -> Iterator[Callable[..., Writer]]:
    writers: list[Writer] = []

    def make(
        recorder: RecordBuilder = RECORDER,
        *,
        max_pending: int = 100_000,
        batch_size: int = 500,
        spool: Spool | None = None,
    ) -> Writer:
        writer = Writer(
            engine,
            recorder,
            max_pending=max_pending,
            batch_size=batch_size,
            flush_interval=0.01,
            spool=spool,
        )
        writers.append(writer)
        return writer

    yield make
    for writer in writers:
        writer.stop(10)


def stored_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(r.id for r in select_records(conn))


def ids(*numbers: int) -> list[str]:
    return sorted(f"{n:016x}" for n in numbers)


def test_everything_submitted_is_written_by_a_clean_stop(
    engine: Engine, new_writer: Callable[..., Writer]
) -> None:
    writer = new_writer(batch_size=7)
    writer.start()
    for n in range(150):
        writer.submit(make_capture(n))
    assert writer.stop(10) is True
    stats = writer.stats()
    assert (stats.written, stats.pending, stats.lost, stats.dropped) == (150, 0, 0, 0)
    assert stats.batches >= 150 // 7
    assert stored_ids(engine) == ids(*range(150))


def test_flush_makes_submitted_records_readable(
    engine: Engine, new_writer: Callable[..., Writer]
) -> None:
    writer = new_writer()
    writer.start()
    for n in range(3):
        writer.submit(make_capture(n))
    assert writer.flush(10) is True
    assert stored_ids(engine) == ids(0, 1, 2)
    assert writer.flush(10) is True  # nothing pending: returns at once


def test_flush_without_a_running_writer_does_not_wait(new_writer: Callable[..., Writer]) -> None:
    writer = new_writer()
    assert writer.flush(10) is True
    writer.submit(make_capture(1))
    assert writer.flush(10) is False


def test_full_queue_drops_new_items_and_counts_them(
    engine: Engine, new_writer: Callable[..., Writer]
) -> None:
    writer = new_writer(max_pending=5)  # not started: nothing drains yet
    for n in range(8):
        writer.submit(make_capture(n))
    assert (writer.stats().pending, writer.stats().dropped) == (5, 3)
    writer.start()
    assert writer.stop(10)
    assert (writer.stats().written, writer.stats().dropped) == (5, 3)
    assert stored_ids(engine) == ids(*range(5))


def test_a_never_started_writer_drains_on_stop(
    engine: Engine, new_writer: Callable[..., Writer]
) -> None:
    writer = new_writer()
    writer.submit(make_capture(1))
    assert writer.stop(10) is True
    assert stored_ids(engine) == ids(1)


def test_submit_after_stop_is_counted_as_dropped(new_writer: Callable[..., Writer]) -> None:
    writer = new_writer()
    writer.start()
    writer.stop(10)
    writer.submit(make_capture(1))
    assert (writer.stats().dropped, writer.stats().pending) == (1, 0)
    with pytest.raises(RuntimeError):
        writer.start()


def test_recorder_failure_stores_a_minimal_error_record(
    engine: Engine, new_writer: Callable[..., Writer], caplog: pytest.LogCaptureFixture
) -> None:
    writer = new_writer()
    writer.start()
    writer.submit(make_capture(1))
    writer.submit(make_capture(2, path="/v1/boom"))
    writer.submit(make_capture(3, path="/v1/boom"))
    writer.submit(make_capture(4))
    assert writer.flush(10)
    stats = writer.stats()
    assert (stats.written, stats.record_errors, stats.lost) == (4, 2, 0)
    assert stats.last_error is not None and "recorder bug" in stats.last_error
    with engine.connect() as conn:
        fallback = stored.get_call(conn, f"{2:016x}")
    assert fallback is not None
    assert (fallback.status, fallback.trace_id, fallback.parent_id) == ("error", TRACE, PARENT)
    assert (fallback.project, fallback.user_id, fallback.http_status) == ("proj", "u", 502)
    assert fallback.op_name == GENERIC_OP and fallback.display_name == "POST /v1/boom"
    assert fallback.inputs is None
    assert fallback.error is not None and fallback.error["type"] == "record_error"
    assert "sk-secret" not in str(fallback.to_api())
    recorder_logs = [r for r in caplog.records if r.getMessage().startswith("recorder:")]
    assert len(recorder_logs) == 1 and recorder_logs[0].exc_info is not None


def test_a_capture_too_broken_for_a_fallback_is_counted_lost(
    engine: Engine, new_writer: Callable[..., Writer]
) -> None:
    writer = new_writer()
    writer.start()
    writer.submit(make_capture(1, path="/v1/boom", wall=math.nan))
    writer.submit(make_capture(2))
    assert writer.flush(10)
    stats = writer.stats()
    assert (stats.written, stats.record_errors, stats.lost) == (1, 1, 1)
    assert stored_ids(engine) == ids(2)


def test_a_refused_record_loses_only_itself(
    engine: Engine, new_writer: Callable[..., Writer]
) -> None:
    writer = new_writer()
    writer.start()
    writer.submit(make_capture(1))
    assert writer.flush(10)
    for n in (2, 1, 3):  # 1 again: a duplicate id the database refuses
        writer.submit(make_capture(n))
    assert writer.flush(10)
    stats = writer.stats()
    assert (stats.written, stats.lost, stats.storage_errors) == (3, 1, 1)
    assert stats.last_error is not None and f"record {1:016x} refused" in stats.last_error
    assert stored_ids(engine) == ids(1, 2, 3)


def test_storage_down_is_logged_once_counted_and_recovers(
    engine: Engine,
    new_writer: Callable[..., Writer],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    down = threading.Event()
    down.set()
    real_insert = queries.insert_records

    def insert(conn: sa.Connection, records: list[CallRecord]) -> None:
        if down.is_set():
            raise sa.exc.OperationalError("INSERT", {}, sqlite3.OperationalError("disk I/O error"))
        real_insert(conn, records)

    monkeypatch.setattr(queries, "insert_records", insert)
    writer = new_writer()
    writer.start()
    for batch in range(3):
        writer.submit(make_capture(batch))
        assert writer.flush(10)
    stats = writer.stats()
    assert (stats.written, stats.lost, stats.storage_errors) == (0, 3, 3)
    assert stats.last_error == "storage: disk I/O error"
    storage_logs = [r for r in caplog.records if r.getMessage().startswith("storage:")]
    assert len(storage_logs) == 1 and storage_logs[0].levelno == logging.ERROR
    assert storage_logs[0].getMessage().endswith(": disk I/O error")  # no SQL, no parameters

    down.clear()
    writer.submit(make_capture(10))
    writer.submit(make_capture(11))
    assert writer.flush(10)
    assert (writer.stats().written, writer.stats().lost) == (2, 3)
    assert stored_ids(engine) == ids(10, 11)
    assert "storage: writing again" in caplog.text


def test_a_locked_database_is_a_storage_fault_and_recovers(
    engine: Engine, db_url: str, new_writer: Callable[..., Writer]
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("locks another SQLite connection")
    path = make_url(db_url).database
    assert path is not None
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    writer = new_writer()
    writer.start()
    try:
        for n in range(5):
            writer.submit(make_capture(n))
        assert writer.flush(10)
        stats = writer.stats()
        assert (stats.written, stats.lost, stats.storage_errors) == (0, 5, 1)
        assert stats.last_error == "storage: database is locked"
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    writer.submit(make_capture(9))
    assert writer.flush(10)
    assert writer.stats().written == 1
    assert stored_ids(engine) == ids(9)


def submit_from_threads(writer: Writer, threads: int, per_thread: int) -> None:
    barrier = threading.Barrier(threads)

    def run(offset: int) -> None:
        captures = [make_capture(offset + n) for n in range(per_thread)]
        barrier.wait()
        for capture in captures:
            writer.submit(capture)

    workers = [threading.Thread(target=run, args=(t * per_thread,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def test_many_threads_submitting_lose_nothing(
    engine: Engine, new_writer: Callable[..., Writer]
) -> None:
    writer = new_writer(batch_size=100)
    writer.start()
    submit_from_threads(writer, threads=8, per_thread=1000)
    assert writer.stop(30)
    assert (writer.stats().written, writer.stats().dropped) == (8000, 0)
    assert stored_ids(engine) == ids(*range(8000))


def test_many_threads_against_a_small_queue_count_every_item_once(
    engine: Engine, new_writer: Callable[..., Writer]
) -> None:
    writer = new_writer(max_pending=20, batch_size=10)
    writer.start()
    submit_from_threads(writer, threads=8, per_thread=1000)
    assert writer.stop(30)
    stats = writer.stats()
    assert stats.written + stats.dropped + stats.lost == 8000
    assert stats.lost == 0 and len(stored_ids(engine)) == stats.written


def test_stop_reports_a_missed_deadline_then_completes(
    engine: Engine, new_writer: Callable[..., Writer]
) -> None:
    entered, release = threading.Event(), threading.Event()

    class SlowRecorder(Recorder):
        def build(self, capture: Capture) -> CallRecord:
            entered.set()
            release.wait(10)
            return super().build(capture)

    writer = new_writer(SlowRecorder(Settings(), "salt"))
    writer.start()
    writer.submit(make_capture(1))
    assert entered.wait(10)
    assert writer.stop(0.01) is False
    release.set()
    assert writer.stop(10) is True
    assert stored_ids(engine) == ids(1)


async def test_submit_never_blocks_the_loop_and_stop_drains(
    engine: Engine, new_writer: Callable[..., Writer]
) -> None:
    writer = new_writer(batch_size=50)
    writer.start()
    with blockbuster_ctx():  # raises on any blocking call made on the event loop
        for n in range(2000):
            writer.submit(make_capture(n))
    assert await asyncio.to_thread(writer.stop, 10) is True
    assert writer.stats().written == 2000


async def test_blockbuster_does_catch_a_database_write_on_the_loop(engine: Engine) -> None:
    """Guards the test above: had submit written inline, blockbuster would have said so."""
    if engine.dialect.name != "sqlite":
        pytest.skip("blockbuster sees sqlite3 calls; libpq's socket I/O happens in C")
    with blockbuster_ctx(), pytest.raises(Exception, match="[Bb]locking"):
        queries.write_batch(engine, [factories.make_record(1)])


def test_stats_are_a_frozen_snapshot(new_writer: Callable[..., Writer]) -> None:
    stats = new_writer().stats()
    assert stats == WriterStats(0, 0, 0, 0, 0, 0, 0, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.written = 1  # type: ignore[misc]


def test_invalid_options_are_refused(engine: Engine) -> None:
    with pytest.raises(ValueError):
        Writer(engine, RECORDER, batch_size=0)


def test_records_storage_refuses_wait_in_the_spool_and_land_in_order_exactly_once(
    engine: Engine,
    new_writer: Callable[..., Writer],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    down = threading.Event()
    down.set()
    real_insert = queries.insert_records
    order: list[str] = []

    def insert(conn: sa.Connection, records: list[CallRecord]) -> None:
        if down.is_set():
            raise sa.exc.OperationalError("INSERT", {}, sqlite3.OperationalError("disk I/O error"))
        real_insert(conn, records)
        order.extend(r.id for r in records)

    monkeypatch.setattr(queries, "insert_records", insert)
    monkeypatch.setattr(delivery, "RETRY_MIN_S", 0.01)
    spool = Spool.open(tmp_path / "spool", 1024 * 1024)
    writer = new_writer(spool=spool, batch_size=3)
    writer.start()
    for n in range(10):
        writer.submit(make_capture(n))
    assert writer.flush(10)
    stats = writer.stats()
    assert (stats.written, stats.lost, stats.spool_pending, stats.storage_down) == (0, 0, 10, True)
    down.clear()
    writer.submit(make_capture(10))  # arrives while the spool holds older records
    deadline = time.monotonic() + 10
    while writer.stats().spool_pending or writer.stats().pending:
        assert time.monotonic() < deadline, writer.stats()
        writer.flush(1)
    assert writer.flush(10)
    stats = writer.stats()
    assert (stats.written, stats.lost, stats.spooled, stats.replayed) == (11, 0, 11, 11)
    assert stats.storage_down is False
    assert order == [f"{n:016x}" for n in range(11)]  # built order, the newest last
    assert stored_ids(engine) == ids(*range(11))


def test_a_replay_skips_records_already_stored(
    engine: Engine, new_writer: Callable[..., Writer], tmp_path: Path
) -> None:
    """A crash between the database's commit and the spool's ack replays a stored record:
    it is stored once, and not counted lost."""
    spool = Spool.open(tmp_path / "spool", 1024 * 1024)
    first = RECORDER.build(make_capture(1))
    queries.write_batch(engine, [first])
    spool.append([first, RECORDER.build(make_capture(2))])
    writer = new_writer(spool=spool)
    writer.start()
    assert writer.flush(10)
    stats = writer.stats()
    assert (stats.written, stats.lost, stats.spool_pending) == (1, 0, 0)
    assert stored_ids(engine) == ids(1, 2)
