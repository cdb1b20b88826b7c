"""storage.migration_lock and migrate.upgrade_to_head: many migrators at once, one migrates.

Each migrator has an engine (and so connections) of its own, as separate processes would;
they start together on an unmigrated database, released by one barrier. The process-level
test is ``tests/proxy/test_replicas.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from wiretrace_proxy.errors import SchemaTooNew
from wiretrace_proxy.storage import migrate
from wiretrace_proxy.storage.engine import create_engine_for
from wiretrace_proxy.storage.migration_lock import migration_transaction

pytestmark = pytest.mark.both_databases

MIGRATORS = 4


@pytest.fixture
def engines(db_url: str) -> Iterator[list[Engine]]:
    made = [create_engine_for(db_url) for _ in range(MIGRATORS)]
    yield made
    for engine in made:
        engine.dispose()


def test_migrators_started_together_all_succeed(engines: list[Engine]) -> None:
    barrier = threading.Barrier(len(engines))
    results: list[str | None] = []
    errors: list[BaseException] = []

    def migrate_one(engine: Engine) -> None:
        barrier.wait()
        try:
            results.append(migrate.upgrade_to_head(engine))
        except BaseException as exc:  # collected: the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=migrate_one, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors[0]
    assert results == [migrate.head_revision()] * len(engines)
    with engines[0].connect() as conn:
        versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
        assert list(versions) == [migrate.head_revision()]


def test_a_second_migrator_waits_for_the_first(engines: list[Engine]) -> None:
    first, second = engines[:2]
    migrate.upgrade_to_head(first)
    entered = threading.Event()

    def migrate_second() -> None:
        migrate.upgrade_to_head(second)
        entered.set()

    with migration_transaction(first):
        waiter = threading.Thread(target=migrate_second, daemon=True)
        waiter.start()
        assert not entered.wait(1.0)  # held off while the first holds the lock
    assert entered.wait(60)
    waiter.join(60)


def test_an_unknown_revision_is_refused_and_left_alone(engines: list[Engine]) -> None:
    engine = engines[0]
    migrate.upgrade_to_head(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9000_future'"))
    with pytest.raises(SchemaTooNew) as caught:
        migrate.upgrade_to_head(engine)
    message = str(caught.value)
    assert "schema revision 9000_future" in message and "upgrade wiretrace" in message
    assert "\n" not in message
    assert migrate.current_revision(engine) == "9000_future"


def test_the_sqlite_busy_timeout_is_restored_after(engines: list[Engine]) -> None:
    engine = engines[0]
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's busy timeout")
    engine = create_engine_for(str(engine.url), busy_timeout_ms=1234)
    try:
        migrate.upgrade_to_head(engine)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
    finally:
        engine.dispose()
