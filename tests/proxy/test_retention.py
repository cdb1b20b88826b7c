"""``--retention-days``: a real ``wiretrace serve`` purges a big backlog of old calls at start,
in small batches, while real ``openai`` calls keep being recorded.

The database is seeded with ``OLD`` calls from 2024 (``tests/factories.py``) and feedback on
some of them; the server starts with ``--retention-days 30`` and a burst of calls runs
through it while the purge works. Checked: ``/healthz`` never reports recording falling
behind during the purge, calls made meanwhile are all stored, the old calls and their
feedback are gone (the counts ``/healthz`` reports equal the seeded ones), and on SQLite the
rollups equal a recount.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from wiretrace_proxy.storage.feedback import FeedbackEntry, add_feedback

from tests.factories import make_record
from tests.harness import fake_upstream_url
from tests.proxy import seed
from tests.proxy.process import ServerProcess
from tests.proxy.storage.test_purge import recounted, rollup_tables
from tests.proxy.test_storage_faults import Burst, health, wait_settled

pytestmark = pytest.mark.both_databases

OLD = 20_000
"""Calls from 2024 to purge: forty batches."""
FEEDBACK_EVERY = 10


@pytest.fixture
def upstream() -> Iterator[str]:
    with fake_upstream_url() as url:
        yield url


@pytest.fixture
def old_calls(engine: Engine) -> Engine:
    for start in range(0, OLD, 2000):
        records = [
            make_record(n, cost_usd=(n % 97) / 7e4, project=("a", "b")[n % 2])
            for n in range(start, start + 2000)
        ]
        seed.insert(engine, records)
    with engine.begin() as conn:
        for n in range(0, OLD, FEEDBACK_EVERY):
            entry = FeedbackEntry(
                id=uuid.uuid4().hex, call_id=f"{n:016x}", thumbs="up", name=None, score=None,
                note=None, author=None, created_at=datetime.now(UTC),
            )  # fmt: skip
            add_feedback(conn, entry)
    return engine


def table_count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_retention_purges_old_calls_while_recording_goes_on(
    old_calls: Engine, db_url: str, upstream: str, tmp_path: Path
) -> None:
    server = ServerProcess(
        upstream, db_url, "--retention-days", "30", "--spool-dir", str(tmp_path / "spool")
    )
    try:
        burst = Burst(f"{server.url}/v1", threads=4).start()
        during: list[dict[str, Any]] = []
        deadline = time.monotonic() + 300
        while (body := health(server))["retention"]["last_run"] is None:
            during.append(body)
            assert time.monotonic() < deadline, "the purge did not finish"
            time.sleep(0.1)  # polling another process's state: nothing here to wait on
        made_during = burst.count()
        made = burst.stop()
        settled = wait_settled(server)
    finally:
        code, out = server.stop()
    assert code == 0, out

    run = body["retention"]["last_run"]
    assert body["retention"]["days"] == 30
    assert run["error"] is None
    assert run["removed"]["calls"] == OLD
    assert run["removed"]["feedback"] == OLD // FEEDBACK_EVERY
    assert "retention: removed 20000 calls" in out
    print(
        f"purge of {OLD} calls took {run['seconds']:.2f} s; {made_during} calls recorded "
        f"meanwhile; worst writer backlog {max(b['oldest_pending_s'] for b in during):.2f} s"
    )
    assert during, "the purge was over before recording could be watched"
    assert all(b["status"] == "ok" for b in during), [b["reasons"] for b in during if b["reasons"]]
    assert settled["lost"] == 0 and settled["written"] == len(made)
    with old_calls.connect() as conn:
        stored = set(conn.execute(sa.text("SELECT id FROM calls")).scalars())
    assert stored == set(made)  # the old ones gone, every new one kept
    assert table_count(old_calls, "feedback") == 0
    if old_calls.dialect.name == "sqlite":
        assert rollup_tables(old_calls) == recounted(old_calls)
