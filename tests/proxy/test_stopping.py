"""Stops and start-up checks that tell the truth, on a real ``wiretrace serve`` process.

A read-only database refuses to start (one line, exit 1); SIGTERM ends within one
``--drain-timeout`` even with a stream that never ends (the call recorded ``cancelled``);
a stop while storage fails exits 1 and counts the records it could not store. The drain's
own arithmetic is checked in-process.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from wiretrace_proxy.server import exit_status, unstored
from wiretrace_proxy.stopping import CANCEL_GRACE, Stopping, writer_reserve
from wiretrace_proxy.storage.engine import create_engine_for
from wiretrace_proxy.storage.migrate import upgrade_to_head
from wiretrace_proxy.writer import WriterStats

from tests.harness import fake_upstream_url
from tests.proxy.process import ServerProcess, wiretrace_cmd

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def upstream() -> Iterator[str]:
    with fake_upstream_url() as url:
        yield url


def migrated(db: Path) -> None:
    engine = create_engine_for(f"sqlite:///{db}")
    upgrade_to_head(engine)
    engine.dispose()


@contextmanager
def read_only_file(path: Path) -> Iterator[str]:
    """``path`` made read-only for this process's children; how, for messages.

    Root writes a file whatever its mode, so as root the file is made immutable
    (``chattr +i``); anyone else gets ``chmod 444``."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        try:
            yield "chmod 444"
        finally:
            path.chmod(0o644)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)], check=False).returncode:
        pytest.skip("running as root where chattr +i is not available: no read-only file")
    try:
        yield "chattr +i"
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


def test_read_only_database_refuses_to_start(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    migrated(db)
    with read_only_file(db) as how:
        done = subprocess.run(
            wiretrace_cmd("serve", "--port", "0", "--db", str(db)),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1, (how, done.stdout, done.stderr)
    assert done.stderr.splitlines()[-1] == (
        f"wiretrace serve: error: cannot write to database sqlite:///{db}: "
        "attempt to write a readonly database"
    ), how
    assert "Traceback" not in done.stderr
    assert "point your app at" not in done.stdout  # it never served


async def test_sigterm_with_a_stream_that_never_ends_exits_within_the_deadline(
    upstream: str, tmp_path: Path
) -> None:
    """aiohttp alone would wait the timeout twice (once for the handler, once after
    cancelling its request), then the writer another whole timeout."""
    deadline = 3.0
    db = tmp_path / "w.db"
    server = ServerProcess(upstream, db, "--drain-timeout", str(deadline), "--log-level", "debug")
    body = {**CHAT, "stream": True}
    async with aiohttp.ClientSession() as session:
        async with session.post(
            server.url + "/v1/chat/completions", json=body, headers={"x-fake-scenario": "hold"}
        ) as resp:
            call_id = resp.headers["Wiretrace-Call-Id"]
            await resp.content.readuntil(b"\n\n")  # the stream is under way, and stays so
            start = time.monotonic()
            server.terminate()
            code, out = await asyncio.to_thread(server.stop, deadline + 10)
            elapsed = time.monotonic() - start
    assert code == 0, out
    # The stream got all but the writer's reserve; the whole stop stayed within the
    # deadline, plus the interpreter's own exit.
    assert deadline - writer_reserve(deadline) - 0.1 <= elapsed <= deadline + 1.0, out
    assert "cancelling 1 calls still running" in out
    assert "server: stopped cleanly" in out
    assert "event loop uvloop" in out  # serve runs on uvloop where it is installed
    with sqlite3.connect(db) as conn:
        (status,) = conn.execute("SELECT status FROM calls WHERE id = ?", (call_id,)).fetchone()
    assert status == "cancelled"


def _chat(url: str) -> None:
    request = urllib.request.Request(
        url + "/v1/chat/completions",
        data=json.dumps(CHAT).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        assert resp.status == 200  # fail open: the app's call succeeds


def _health(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/healthz", timeout=5) as resp:
        health: dict[str, Any] = json.load(resp)
        return health


def test_sigterm_while_storage_fails_exits_1_and_counts_the_records(
    upstream: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another connection holds the write lock for the whole stop: the first batch waits
    the busy timeout and is lost, the next is still waiting when the deadline passes.

    Records the on-disk spool keeps are not lost, so the spool is made unusable (its
    folder would be under a file): this is about records that reach neither."""
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where the spool's folder would be")
    monkeypatch.setenv("WIRETRACE_SPOOL_DIR", str(blocker / "spool"))
    db = tmp_path / "w.db"
    server = ServerProcess(upstream, db, "--drain-timeout", "2")
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        for _ in range(3):
            _chat(server.url)
        until = time.monotonic() + 30
        while (lost := _health(server.url)["lost"]) < 1:  # the 5 s busy timeout, then lost
            assert time.monotonic() < until, _health(server.url)
            time.sleep(0.1)  # another process's writer: nothing here to wait on
        for _ in range(3):
            _chat(server.url)
        code, out = server.stop()
    finally:
        holder.close()
        if server.proc.poll() is None:  # a failed assertion above: leave no server behind
            server.proc.kill()
            server.proc.communicate()
    assert code == 1, out
    found = re.search(r"server: stopped with (\d+) records not stored \(see /healthz", out)
    assert found is not None and int(found.group(1)) >= lost, out
    assert "stopped cleanly" not in out


# The arithmetic, in-process


def test_the_writer_reserve_is_a_quarter_at_most_two_seconds() -> None:
    assert writer_reserve(8) == 2
    assert writer_reserve(30) == 2
    assert writer_reserve(2) == 0.5


def stats(**counts: int) -> WriterStats:
    fields: dict[str, Any] = {
        "pending": 0,
        "written": 10,
        "dropped": 0,
        "lost": 0,
        "storage_errors": 0,
        "record_errors": 0,
        "batches": 1,
        "last_error": None,
    }
    return WriterStats(**{**fields, **counts})


def test_exit_status_counts_pending_lost_and_dropped(caplog: pytest.LogCaptureFixture) -> None:
    assert exit_status(stats(), finished=True) == 0
    assert unstored(stats(pending=1, lost=2, dropped=3)) == 6
    with caplog.at_level("ERROR", "wiretrace_proxy.server"):
        assert exit_status(stats(pending=1, lost=2, dropped=3), finished=True) == 1
        assert exit_status(stats(), finished=False) == 1  # a batch may be in its hands
    first, second = (r.getMessage() for r in caplog.records)
    assert first.startswith("server: stopped with 6 records not stored (see /healthz counters")
    assert "missed the drain deadline" in second


async def test_drain_lets_calls_finish_then_cancels_the_rest_within_the_budget() -> None:
    stopping = Stopping()
    outcomes: list[str] = []
    started = asyncio.Event()

    async def endless(request: web.Request) -> web.StreamResponse:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            outcomes.append("cancelled")
            raise
        raise AssertionError("unreachable")

    app = web.Application(middlewares=[stopping.track])
    app.router.add_get("/", endless)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]

    async def stop_once_started() -> float:
        await started.wait()
        begin = time.monotonic()
        await stopping.drain(runner, 2.0)
        return time.monotonic() - begin

    async with aiohttp.ClientSession() as session:
        call, elapsed = await asyncio.gather(
            session.get(f"http://{host}:{port}/"), stop_once_started(), return_exceptions=True
        )
    await runner.cleanup()
    assert isinstance(call, aiohttp.ClientError) and isinstance(elapsed, float)
    assert outcomes == ["cancelled"] and stopping.in_flight == 0
    assert 2.0 - writer_reserve(2.0) <= elapsed <= 2.0 - writer_reserve(2.0) + CANCEL_GRACE
    assert 0 < stopping.time_left(99) <= writer_reserve(2.0)
