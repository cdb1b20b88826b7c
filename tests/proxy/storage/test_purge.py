"""storage.purge: old calls go with their child spans, their feedback and their share of the
rollups; what is left equals an independent count, and the rollups a recount.

The database is ``tests/proxy/seed.py``'s (traces of three spans over six days, orphans),
plus a trace whose root started before the cutoff and whose child started after it, and
feedback on calls either side of the cutoff. What should go is worked out here in Python
from the records themselves, not by the code under test.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.storage import purge, rollup_writes
from wiretrace_proxy.storage.feedback import FeedbackEntry, add_feedback
from wiretrace_proxy.storage.models import CALLS, FEEDBACK
from wiretrace_proxy.storage.rollups import BUCKETS, ROLLUPS

from tests.proxy import seed
from tests.proxy.storage.test_rollups_both_databases import assert_exact

pytestmark = pytest.mark.both_databases

CUTOFF = seed.BASE + timedelta(days=3, hours=2, minutes=30)
"""Mid-day: that day's cells lose some calls and keep others."""


def straddling() -> list[CallRecord]:
    """A root before the cutoff, its child (and grandchild) after it."""
    rng = random.Random(5)
    trace = f"{rng.getrandbits(128):032x}"
    root = seed.make_record(
        rng, started_at=CUTOFF - timedelta(minutes=1), trace_id=trace, parent_id=None,
        kind="op", index=1,
    )  # fmt: skip
    child = seed.make_record(
        rng, started_at=CUTOFF + timedelta(hours=1), trace_id=trace, parent_id=root.id,
        kind="op", index=2,
    )  # fmt: skip
    grandchild = seed.make_record(
        rng, started_at=CUTOFF + timedelta(hours=2), trace_id=trace, parent_id=child.id,
        kind="llm", index=4,
    )  # fmt: skip
    return [root, child, grandchild]


def expected_doomed(records: Sequence[CallRecord], project: str | None = None) -> set[str]:
    """Ids of the calls older than the cutoff (of ``project``) and every call below them."""
    doomed = {
        r.id for r in records if r.started_at < CUTOFF and (project is None or r.project == project)
    }
    grew = True
    while grew:
        below = {
            r.id
            for r in records
            if r.parent_id in doomed
            and r.id not in doomed
            and (project is None or r.project == project)
        }
        doomed |= below
        grew = bool(below)
    return doomed


def varied_costs() -> list[CallRecord]:
    """The seed's calls and ``straddling``, their costs made irregular floats: subtracting
    one from a sum then seldom gives back the sum of the others."""
    rng = random.Random(11)
    out = seed.build() + straddling()
    for record in out:
        if record.cost_usd is not None:
            record.cost_usd = rng.random() / 7
    return out


def seeded_with_feedback(engine: Engine, records: list[CallRecord]) -> Engine:
    """``records`` inserted, and feedback on every third of them."""
    seed.insert(engine, records)
    with engine.begin() as conn:
        for n, record in enumerate(records[::3]):
            add_feedback(
                conn,
                FeedbackEntry(
                    id=uuid.uuid4().hex, call_id=record.id, thumbs="up" if n % 2 else "down",
                    name=None, score=None, note=f"note {n}", author="test",
                    created_at=datetime.now(UTC),
                ),
            )  # fmt: skip
    return engine


@pytest.fixture
def records() -> list[CallRecord]:
    return varied_costs()


@pytest.fixture
def seeded(engine: Engine, records: list[CallRecord]) -> Engine:
    return seeded_with_feedback(engine, records)


def stored_ids(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.select(CALLS.c.id)).scalars())


def feedback_calls(engine: Engine) -> Counter[str]:
    with engine.connect() as conn:
        return Counter(conn.execute(sa.select(FEEDBACK.c.call_id)).scalars())


def rollup_tables(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {
            name: sorted(tuple(row) for row in conn.execute(sa.select(table)))
            for name, table in (("rollups", ROLLUPS), ("buckets", BUCKETS))
        }


def recounted(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """The rollups rebuilt from ``calls`` (then rolled back)."""
    with engine.connect() as conn, conn.begin() as tx:
        rollup_writes.recount(conn)
        tables = {
            name: sorted(tuple(row) for row in conn.execute(sa.select(table)))
            for name, table in (("rollups", ROLLUPS), ("buckets", BUCKETS))
        }
        tx.rollback()
    return tables


def assert_rollups_exact(engine: Engine) -> None:
    """SQLite: the rollups equal a recount, floats included (costs re-summed in insert
    order). PostgreSQL adds costs in commit order: equal to a recount but for rounding."""
    if engine.dialect.name == "sqlite":
        assert rollup_tables(engine) == recounted(engine)
    else:
        assert_exact(engine)


def test_purge_removes_old_calls_their_children_and_feedback(
    seeded: Engine, records: list[CallRecord]
) -> None:
    doomed = expected_doomed(records)
    feedback_before = feedback_calls(seeded)
    straddler = straddling()
    assert {r.id for r in straddler} <= doomed  # the young child and grandchild go too
    assert 0 < len(doomed) < len(records)

    counts = purge.purge(seeded, CUTOFF, batch_size=7)  # many small batches

    assert stored_ids(seeded) == {r.id for r in records} - doomed
    assert counts.calls == len(doomed)
    assert counts.feedback == sum(n for call, n in feedback_before.items() if call in doomed)
    assert not set(feedback_calls(seeded)) & doomed
    assert sum(feedback_calls(seeded).values()) == sum(feedback_before.values()) - counts.feedback
    assert counts.call_rollups > 0
    assert_rollups_exact(seeded)
    kept = Counter(r.project for r in records if r.id not in doomed)
    with seeded.connect() as conn:
        sums = sa.select(ROLLUPS.c.project, sa.func.sum(ROLLUPS.c.calls))
        by_project = {p: n for p, n in conn.execute(sums.group_by(ROLLUPS.c.project))}
    assert by_project == dict(kept)


def test_purge_of_one_project_leaves_the_others(seeded: Engine, records: list[CallRecord]) -> None:
    doomed = expected_doomed(records, project="other")
    assert doomed and {r.project for r in records if r.id in doomed} == {"other"}

    counts = purge.purge(seeded, CUTOFF, project="other")

    assert stored_ids(seeded) == {r.id for r in records} - doomed
    assert counts.calls == len(doomed)
    assert_rollups_exact(seeded)


def test_count_purge_counts_what_purge_removes_and_changes_nothing(
    seeded: Engine, records: list[CallRecord]
) -> None:
    before = (stored_ids(seeded), feedback_calls(seeded), rollup_tables(seeded))

    counted = purge.count_purge(seeded, CUTOFF)

    assert (stored_ids(seeded), feedback_calls(seeded), rollup_tables(seeded)) == before
    assert counted.calls == len(expected_doomed(records))
    removed = purge.purge(seeded, CUTOFF)
    assert (removed.calls, removed.feedback) == (counted.calls, counted.feedback)


def test_a_purge_stopped_between_batches_leaves_exact_rollups(
    seeded: Engine, records: list[CallRecord]
) -> None:
    batches = 0

    def stop_after_two() -> bool:
        nonlocal batches
        batches += 1
        return batches < 2

    counts = purge.purge(seeded, CUTOFF, batch_size=5, between=stop_after_two)

    assert 0 < counts.calls < len(expected_doomed(records))
    assert len(stored_ids(seeded)) == len(records) - counts.calls
    assert_rollups_exact(seeded)


def test_nothing_old_removes_nothing(seeded: Engine, records: list[CallRecord]) -> None:
    counts = purge.purge(seeded, seed.BASE - timedelta(days=365))
    assert counts == purge.PurgeCounts()
    assert len(stored_ids(seeded)) == len(records)
