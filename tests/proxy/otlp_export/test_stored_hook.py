"""What the export queue is fed: the final records a batch committed, and only once they
are in the database (``delivery.Delivery``'s ``on_stored``). A record that waited in the
spool is handed over when its replay commits; one the database refused, never."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.delivery import Delivery
from wiretrace_proxy.storage.engine import create_engine_for
from wiretrace_proxy.storage.migrate import upgrade_to_head
from wiretrace_proxy.storage.spool import Spool

from tests.factories import make_record


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'w.db'}")
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


class Storage:
    """A database that can be made to refuse writes (``before_write`` raising is a fault),
    and a clock the retry backoff reads."""

    def __init__(self) -> None:
        self.down = False
        self.now = 0.0
        self.handed: list[str] = []

    def check(self) -> None:
        if self.down:
            raise OSError("disk I/O error")

    def on_stored(self, records: Sequence[CallRecord]) -> None:
        self.handed.extend(r.id for r in records)


def test_final_records_are_handed_over_once_committed(engine: Engine) -> None:
    storage = Storage()
    delivery = Delivery(engine, on_stored=storage.on_stored)
    delivery.deliver([make_record(1, status="running"), make_record(2)])
    assert storage.handed == [f"{2:016x}"]  # a running record waits for its final one
    delivery.deliver([make_record(1)])
    assert storage.handed == [f"{2:016x}", f"{1:016x}"]


def test_a_refused_record_is_not_handed_over(engine: Engine) -> None:
    storage = Storage()
    delivery = Delivery(engine, on_stored=storage.on_stored)
    delivery.deliver([make_record(1)])
    delivery.deliver([make_record(1, project="other"), make_record(2)])  # 1: a duplicate id
    assert storage.handed == [f"{1:016x}", f"{2:016x}"]
    assert delivery.stats().lost == 1


def test_a_spooled_record_is_handed_over_when_its_replay_commits(
    engine: Engine, tmp_path: Path
) -> None:
    storage = Storage()
    spool = Spool.open(tmp_path / "spool", 1024 * 1024)
    delivery = Delivery(
        engine,
        spool,
        before_write=storage.check,
        on_stored=storage.on_stored,
        clock=lambda: storage.now,
    )
    storage.down = True
    delivery.deliver([make_record(1), make_record(2)])
    assert storage.handed == [] and delivery.stats().spool_pending == 2
    storage.down = False
    storage.now = 60.0  # past the retry backoff
    delivery.replay()
    assert storage.handed == [f"{1:016x}", f"{2:016x}"]
    spool.close()


def test_a_failing_callback_never_fails_storage(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(records: Sequence[CallRecord]) -> None:
        raise RuntimeError("exporter bug")

    delivery = Delivery(engine, on_stored=broken)
    delivery.deliver([make_record(1)])
    delivery.deliver([make_record(2)])
    stats = delivery.stats()
    assert (stats.written, stats.lost, stats.storage_down) == (2, 0, False)
    assert caplog.text.count("stored-records callback failed") == 1
