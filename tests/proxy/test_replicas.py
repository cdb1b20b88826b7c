"""Replicas: ``wiretrace serve`` processes sharing one database are stateless peers.

Real processes on one SQLite file and on one PostgreSQL database: replicas started at the
same moment all come up on an unmigrated database and name themselves at ``/healthz``; a
wiretrace older than the database's schema refuses to start in one line; bursts of real
``openai`` calls through two replicas at once are each stored exactly once, the stats
rollups equal a count made from the ``calls`` table, and a call recorded through one
replica is readable through the other within a second.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from wiretrace_proxy.storage.engine import create_engine_for
from wiretrace_proxy.storage.migrate import head_revision, upgrade_to_head

from tests.harness import fake_upstream_url
from tests.proxy.process import ServerProcess, wiretrace_cmd
from tests.proxy.test_storage_faults import KEY, Burst, health, wait_settled

pytestmark = pytest.mark.both_databases


@pytest.fixture
def upstream() -> Iterator[str]:
    with fake_upstream_url() as url:
        yield url


@pytest.fixture
def replicas(upstream: str, db_url: str, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    """Three replicas started at the same moment on one unmigrated database, each with its
    own spool (a spool directory belongs to one process); the last one is not named."""
    started = [
        ServerProcess(
            upstream,
            db_url,
            "--spool-dir",
            str(tmp_path / f"spool-{n}"),
            *(("--replica-name", f"replica-{n}") if n < 2 else ()),
            wait=False,
        )
        for n in range(3)
    ]
    try:
        for server in started:
            server.wait_ready(timeout=120)  # three starting at once on a busy machine
        yield started
    finally:
        for server in started:
            server.stop()


def test_replicas_started_together_all_come_up_and_name_themselves(
    replicas: list[ServerProcess],
) -> None:
    bodies = [health(server) for server in replicas]
    assert [b["status"] for b in bodies] == ["ok"] * 3
    assert [b["schema_revision"] for b in bodies] == [head_revision()] * 3
    assert bodies[0]["replica"] == "replica-0" and bodies[1]["replica"] == "replica-1"
    assert bodies[2]["replica"].endswith(f":{replicas[2].proc.pid}")  # hostname:pid
    assert all(b["retention"] is None for b in bodies)  # --retention-days not set


def test_a_wiretrace_older_than_the_database_refuses_to_start(
    upstream: str, db_url: str, tmp_path: Path
) -> None:
    engine = create_engine_for(db_url)
    try:
        upgrade_to_head(engine)
        with engine.begin() as conn:  # what a newer wiretrace's migration would leave
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '9000_future'"))
    finally:
        engine.dispose()
    done = subprocess.run(
        wiretrace_cmd(
            "serve", "--port", "0", "--upstream", upstream, "--db", db_url,
            "--spool-dir", str(tmp_path / "spool"),
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "schema revision 9000_future" in lines[0]
    assert f"its newest is {head_revision()}" in lines[0]
    assert "older" in lines[0] and "upgrade wiretrace" in lines[0]


def stats_totals(server: ServerProcess) -> dict[str | None, tuple[int, int]]:
    """``/api/stats?group_by=model``: model -> (calls, total tokens)."""
    url = f"{server.url}/api/stats?group_by=model&exact=true"
    with urllib.request.urlopen(url, timeout=10) as resp:
        groups = json.load(resp)["groups"]
    return {g["key"]: (g["calls"], g["total_tokens"]) for g in groups}


def counted(engine: Engine) -> dict[str | None, tuple[int, int]]:
    """The same, counted from ``calls`` directly."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT model, count(*), coalesce(sum(total_tokens), 0) FROM calls GROUP BY model"
            )
        )
        return {model: (int(n), int(tokens)) for model, n, tokens in rows}


def rollup_sums(engine: Engine) -> dict[str | None, tuple[int, int]]:
    """The same, read from the rollups (SQLite keeps them; '' stands for no model)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT nullif(model, ''), sum(calls), sum(total_tokens) FROM call_rollups"
                " GROUP BY model"
            )
        )
        return {model: (int(n), int(tokens)) for model, n, tokens in rows}


def read_through(server: ServerProcess, call_id: str, timeout: float) -> float:
    """Seconds until ``call_id`` is readable through ``server`` (fails after ``timeout``)."""
    began = time.monotonic()
    while True:
        try:
            with urllib.request.urlopen(f"{server.url}/api/calls/{call_id}", timeout=5):
                return time.monotonic() - began
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code != 404:
                raise
        assert time.monotonic() - began < timeout, f"{call_id} not readable through the peer"
        time.sleep(0.01)  # another process's writer: nothing here to wait on


def test_two_replicas_writing_at_once_store_every_call_once_and_rollups_stay_exact(
    replicas: list[ServerProcess], db_url: str
) -> None:
    first, second = replicas[:2]
    bursts = [Burst(f"{s.url}/v1", threads=4).start() for s in (first, second)]
    for burst in bursts:
        burst.run_until(lambda b=burst: b.count() >= 100, 90)  # type: ignore[misc]
    made = [call_id for burst in bursts for call_id in burst.stop()]
    for server in (first, second):
        assert wait_settled(server)["lost"] == 0

    engine = create_engine_for(db_url)
    try:
        with engine.connect() as conn:
            stored = list(conn.execute(sa.text("SELECT id FROM calls")).scalars())
        assert len(made) == len(set(made)) >= 200
        assert sorted(stored) == sorted(made)  # every call, each once
        expected = counted(engine)
        assert sum(n for n, _ in expected.values()) == len(made)
        assert stats_totals(first) == stats_totals(second) == expected
        if engine.dialect.name == "sqlite":
            assert rollup_sums(engine) == expected
    finally:
        engine.dispose()

    client = openai.OpenAI(api_key=KEY, base_url=f"{first.url}/v1", max_retries=0)
    try:
        waits = []
        for n in range(5):
            raw = client.chat.completions.with_raw_response.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"peer {n}"}]
            )
            waits.append(read_through(second, raw.headers["wiretrace-call-id"], timeout=1.0))
    finally:
        client.close()
    assert max(waits) < 1.0, waits
