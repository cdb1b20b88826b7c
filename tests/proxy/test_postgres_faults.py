"""A PostgreSQL outage while calls flow: every app call succeeds, ``/healthz`` says degraded
while the spool holds records, and once PostgreSQL is back every call the app made is in
it exactly once (the ``Wiretrace-Call-Id`` values = ``SELECT id FROM calls``).

A real ``wiretrace serve --db postgresql://...`` on a cluster of the test's own (stopping
the session's shared server would disturb other tests), a burst of real ``openai`` clients,
and a real outage: ``pg_ctl stop -m fast`` ends every connection the server's pool holds,
and the server started again later on the same port. Calls after the recovery must be
written straight to the database (the pool's broken connections replaced, not failing).
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.harness import fake_upstream_url
from tests.postgres import PostgresServer, start_server
from tests.proxy.process import ServerProcess, get_call
from tests.proxy.test_storage_faults import Burst, health, wait_settled

OUTAGE_S = 4.0
"""How long PostgreSQL stays down while the burst runs."""


@pytest.fixture
def upstream() -> Iterator[str]:
    with fake_upstream_url() as url:
        yield url


@pytest.fixture
def postgres(postgres_bin_dir: Path) -> Iterator[PostgresServer]:
    with start_server(postgres_bin_dir) as server:
        yield server


def stored_ids(url: str) -> list[str]:
    with psycopg.connect(url, connect_timeout=10) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM calls")]


def test_a_postgresql_outage_loses_nothing_and_recovers(
    upstream: str, postgres: PostgresServer, tmp_path: Path
) -> None:
    url = postgres.url(postgres.create_database())
    server = ServerProcess(upstream, url, "--spool-dir", str(tmp_path / "spool"))
    try:
        burst = Burst(server.url + "/v1").start()
        burst.run_until(lambda: burst.count() >= 50, 30)
        before = health(server)
        assert before["status"] == "ok" and before["written"] > 0

        postgres.stop("fast")
        stopped = time.monotonic()
        try:
            down_at = burst.count()
            burst.run_until(lambda: health(server)["spool_pending"] > 0, 30)
            degraded = health(server)
            assert degraded["status"] == "degraded", degraded
            assert degraded["storage_down"] is True
            burst.run_until(lambda: time.monotonic() - stopped >= OUTAGE_S, 30)
            during = burst.count() - down_at
            assert during > 0
        finally:
            postgres.start()
        restarted = time.monotonic()

        burst.run_until(lambda: health(server)["spool_pending"] == 0, 60)
        drained_s = time.monotonic() - restarted
        recovered = wait_settled(server)
        assert recovered["lost"] == 0
        assert recovered["replayed"] == recovered["spooled"] > 0

        # After the recovery: straight to the database, no error, nothing spooled.
        back_at = burst.count()
        burst.run_until(lambda: burst.count() >= back_at + 200, 30)
        made = burst.stop()
        settled = wait_settled(server)
        assert settled["spooled"] == recovered["spooled"]
        assert settled["storage_errors"] == recovered["storage_errors"]
        assert settled["written"] == len(made)
        # The API's pooled connections were broken by the restart too: reads work.
        assert get_call(server.url, made[-1])["id"] == made[-1]
        with urllib.request.urlopen(server.url + "/api/calls?limit=1", timeout=10) as resp:
            assert resp.status == 200
    finally:
        code, out = server.stop()
    assert code == 0, out
    assert "storage: writing again" in out
    rows = stored_ids(url)
    assert len(rows) == len(set(rows))
    assert set(rows) == set(made)
    assert len(rows) == len(made)
    print(  # the numbers, for -s
        f"calls {len(made)}: {down_at} before the outage, {during} during it "
        f"({OUTAGE_S:.0f} s), spooled {settled['spooled']}, replayed {settled['replayed']}, "
        f"storage errors {settled['storage_errors']}; spool drained {drained_s:.1f} s after "
        f"the restart; rows {len(rows)}"
    )
