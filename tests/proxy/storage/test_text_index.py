"""SQLite's text index filled in batches (``storage.text_index``, migration 0014): search
answers as the scan does whether a call is still queued, already indexed or in between;
updates and deletes of either kind keep FTS5's index true to ``calls`` (its own
integrity check); the writer empties the queue by itself; the downgrade indexes the queue.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine
from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.storage import listing, migrate
from wiretrace_proxy.storage.engine import create_engine_for, write_transaction
from wiretrace_proxy.storage.filters import (
    FEW_TEXT_MATCHES,
    CallFilter,
    apply_filters,
    parse_filters,
    probe_text_matches,
    text_scan,
)
from wiretrace_proxy.storage.models import CALLS
from wiretrace_proxy.storage.purge import purge
from wiretrace_proxy.storage.text_index import TextIndexer, index_all, index_pending
from wiretrace_proxy.storage.writes import write_batch
from wiretrace_proxy.writer import Writer

from tests.factories import T0, make_record
from tests.proxy.storage.test_search_index import (
    assert_search_is_the_scan,
    search,
    tricky_records,
)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for(f"sqlite:///{tmp_path}/calls.db")
    migrate.upgrade_to_head(engine)
    yield engine
    engine.dispose()


def queued(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM call_text_pending").scalar_one())


def indexed(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM call_text_docsize").scalar_one())


def assert_index_is_true_to_calls(engine: Engine) -> None:
    """FTS5's integrity check: every indexed call's text is what ``calls`` holds (it fails
    on an index entry for text never indexed, or one left behind)."""
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO call_text (call_text) VALUES ('integrity-check')")


def test_search_is_the_scan_queued_indexed_and_half_way(engine: Engine) -> None:
    records = tricky_records()
    assert write_batch(engine, records).written == len(records)
    assert queued(engine) == len(records) and indexed(engine) == 0
    assert assert_search_is_the_scan(engine) >= 20  # every call still queued
    with write_transaction(engine) as conn:
        assert index_pending(conn, limit=4) == 4
    assert queued(engine) == len(records) - 4 and indexed(engine) == 4
    assert_search_is_the_scan(engine)
    assert index_all(engine) == len(records) - 4
    assert queued(engine) == 0 and indexed(engine) == len(records)
    assert_search_is_the_scan(engine)
    assert_index_is_true_to_calls(engine)


def _changed(rec: CallRecord, words: str) -> CallRecord:
    return dataclasses.replace(rec, output={"choices": [{"message": {"content": words}}]})


def test_updates_and_deletes_of_queued_and_indexed_calls_keep_the_index_true(
    engine: Engine,
) -> None:
    old = [make_record(n, inputs={"messages": [{"content": f"old words {n}"}]}) for n in (1, 2)]
    running = make_record(3, status="running", output=None)
    assert write_batch(engine, [*old, running]).written == 3
    index_all(engine)  # these three are indexed
    young = make_record(4, inputs={"messages": [{"content": "young words"}]})
    young_running = make_record(5, status="running", output=None)
    assert write_batch(engine, [young, young_running]).written == 2  # these two are queued
    with engine.begin() as conn:  # updates in place, as the LLM span fold makes them
        for rec in (old[0], young):
            conn.execute(
                sa.update(CALLS)
                .where(CALLS.c.id == rec.id)
                .values(output={"choices": [{"message": {"content": f"zebra {rec.id}"}}]})
            )
        conn.execute(sa.delete(CALLS).where(CALLS.c.id == old[1].id))
    finals = [_changed(running, "final giraffe"), _changed(young_running, "final giraffe")]
    replacing = {running.id, young_running.id}
    assert write_batch(engine, finals, replacing=replacing).written == 2
    assert_index_is_true_to_calls(engine)
    with engine.connect() as conn:
        assert search(conn, CallFilter(q="zebra")) == {old[0].id, young.id}
        assert search(conn, CallFilter(q="old words 2")) == set()
        assert search(conn, CallFilter(q="giraffe")) == replacing
    index_all(engine)
    assert queued(engine) == 0
    assert_index_is_true_to_calls(engine)
    assert_search_is_the_scan(engine, ("zebra", "giraffe", "words", "old", "young"))
    purge(engine, T0 + timedelta(days=1))
    assert queued(engine) == 0 and indexed(engine) == 0
    assert_index_is_true_to_calls(engine)


def test_a_call_deleted_while_queued_leaves_the_queue_and_its_rowid_can_return(
    engine: Engine,
) -> None:
    """SQLite may give a new call the rowid of the last one deleted: it is queued again."""
    first = make_record(1, inputs={"messages": [{"content": "first penguin"}]})
    assert write_batch(engine, [first]).written == 1
    with engine.begin() as conn:
        conn.execute(sa.delete(CALLS).where(CALLS.c.id == first.id))
    assert queued(engine) == 0
    second = make_record(2, inputs={"messages": [{"content": "second penguin"}]})
    assert write_batch(engine, [second]).written == 1
    index_all(engine)
    assert_index_is_true_to_calls(engine)
    with engine.connect() as conn:
        assert search(conn, CallFilter(q="penguin")) == {second.id}


class _Records:
    """The writer's recorder, for records already built (they are queued as records)."""

    def build(self, capture: object) -> CallRecord:
        raise AssertionError("no captures here")

    def fallback(self, capture: object, error: Exception) -> CallRecord:
        raise AssertionError("no captures here")


def test_the_writer_indexes_what_it_wrote_within_the_wait(engine: Engine) -> None:
    indexer = TextIndexer(engine, min_rows=1_000, max_wait=0.3)
    writer = Writer(engine, _Records(), flush_interval=0.01, text_indexer=indexer)
    writer.start()
    try:
        records = [
            make_record(n, inputs={"messages": [{"content": f"otter {n}"}]}) for n in range(1, 41)
        ]
        assert writer.submit_records(records)
        assert writer.flush(10)
        assert queued(engine) == 40  # fewer than min_rows: they wait for max_wait
        deadline = time.monotonic() + 10
        while queued(engine) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert queued(engine) == 0 and indexed(engine) == 40
    finally:
        writer.stop(10)
    with engine.connect() as conn:
        assert len(search(conn, CallFilter(q="otter"))) == 40


def test_downgrade_indexes_the_queue_and_upgrade_queues_again(engine: Engine) -> None:
    records = tricky_records()
    assert write_batch(engine, records).written == len(records)
    config = migrate.alembic_config(engine)
    command.downgrade(config, "0013")  # this code's search needs the queue: checked after
    assert indexed(engine) == len(records)
    assert_index_is_true_to_calls(engine)
    command.upgrade(config, "head")
    assert queued(engine) == 0
    assert_search_is_the_scan(engine)
    more = make_record(99, inputs={"messages": [{"content": "after the upgrade"}]})
    assert write_batch(engine, [more]).written == 1
    assert queued(engine) == 1
    assert_search_is_the_scan(engine, ("after the upgrade", "capital", "café"))


def test_a_page_of_a_rare_word_and_of_a_common_one_is_the_scan_in_order(engine: Engine) -> None:
    """Rare: the index drives (rowid lookups); common, past ``FEW_TEXT_MATCHES``: the calls
    are read in sort order and checked. Either way the page is what the scan gives."""
    common = [
        make_record(n, inputs={"messages": [{"content": f"common walrus {n}"}]})
        for n in range(1, FEW_TEXT_MATCHES + 60)
    ]
    rare = [
        make_record(10_000 + n, inputs={"messages": [{"content": "rare narwhal"}]}) for n in (1, 2)
    ]
    assert write_batch(engine, common + rare).written == len(common) + 2
    index_all(engine)
    sort = listing.Sort.parse(None)
    with engine.connect() as conn:
        for q, many in (("walrus", True), ("narwhal", False)):
            f = parse_filters({"q": q})
            assert probe_text_matches(conn, f).many_text_matches is many
            page = listing.fetch_page(conn, f, sort, 50)
            in_order = conn.scalars(
                sa.select(CALLS.c.id)
                .where(text_scan([q]))
                .order_by(CALLS.c.started_at.desc(), CALLS.c.id.desc())
                .limit(50)
            ).all()
            assert [r.id for r in page.records] == in_order and in_order
            probed = probe_text_matches(conn, f)
            stmt = apply_filters(sa.select(CALLS.c.id), probed).order_by(CALLS.c.started_at.desc())
            compiled = stmt.compile(conn, compile_kwargs={"literal_binds": True})
            plan = " ".join(r[3] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
            assert ("call_text" in plan) is not many, plan
