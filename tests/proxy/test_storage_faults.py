"""Storage faults while calls flow: every app call succeeds, and once storage is back every
call the app made is stored exactly once (calls made = rows, by id).

Each test runs a real ``wiretrace serve`` on a SQLite file, a burst of real ``openai``
clients in threads (each call's ``Wiretrace-Call-Id`` is kept), and a real fault: another
connection holding the database's write lock past the busy timeout, the file made immutable
(``chattr +i``: open descriptors get EPERM too, unlike ``chmod``), the data directory
removed, a full filesystem (a small tmpfs), and a ``kill -9`` during a burst followed by a
restart. Faults that need root or a filesystem feature skip with the reason when the
machine cannot do them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.harness import fake_upstream_url
from tests.proxy.process import ServerProcess

KEY = "sk-fault-test-0000000000000000000000000000"


@pytest.fixture
def upstream() -> Iterator[str]:
    with fake_upstream_url() as url:
        yield url


@dataclass
class Burst:
    """Threads of real ``openai`` clients calling through the proxy until stopped."""

    base_url: str
    threads: int = 4
    ids: list[str] = field(default_factory=list)
    finished_at: dict[str, float] = field(default_factory=dict)
    """Call id -> ``time.monotonic()`` when the app had its whole answer."""
    errors: list[BaseException] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Burst:
        for n in range(self.threads):
            worker = threading.Thread(target=self._run, args=(n,), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def _run(self, n: int) -> None:
        client = openai.OpenAI(api_key=KEY, base_url=self.base_url, max_retries=0, timeout=60)
        try:
            while not self._stop.is_set():
                try:
                    raw = client.chat.completions.with_raw_response.create(
                        model="gpt-4o-mini", messages=[{"role": "user", "content": f"hi {n}"}]
                    )
                    raw.parse()
                except (openai.APIConnectionError, openai.APIStatusError) as exc:
                    if not self._stop.is_set():
                        with self._lock:
                            self.errors.append(exc)
                    return
                call_id = raw.headers["wiretrace-call-id"]
                with self._lock:
                    self.ids.append(call_id)
                    self.finished_at[call_id] = time.monotonic()
        finally:
            client.close()

    def count(self) -> int:
        with self._lock:
            return len(self.ids)

    def run_until(self, predicate: Callable[[], bool], timeout: float) -> None:
        """Let the burst run until ``predicate`` holds (polled), or fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not predicate():
            assert not self.errors, f"an app call failed: {self.errors[0]!r}"
            assert time.monotonic() < deadline, "condition not reached while the burst ran"
            time.sleep(0.05)  # polling another process's state: nothing here to wait on

    def halt(self) -> None:
        """Stop starting calls, and take the failures of calls still running as expected
        (the server is about to be killed)."""
        self._stop.set()

    def stop(self) -> list[str]:
        self._stop.set()
        for worker in self._workers:
            worker.join(60)
        assert not self.errors, f"an app call failed: {self.errors[0]!r}"
        return list(self.ids)


def health(server: ServerProcess) -> dict[str, Any]:
    with urllib.request.urlopen(server.url + "/healthz", timeout=10) as resp:
        body: dict[str, Any] = json.load(resp)
        return body


def wait_settled(server: ServerProcess, timeout: float = 60) -> dict[str, Any]:
    """``/healthz`` once nothing is pending in memory or in the spool and status is ok."""
    deadline = time.monotonic() + timeout
    while True:
        body = health(server)
        if body["status"] == "ok" and body["pending"] == 0 and body["spool_pending"] == 0:
            return body
        assert time.monotonic() < deadline, f"recording did not settle: {body}"
        time.sleep(0.1)  # polling another process's state: nothing here to wait on


def recovered(burst: Burst, server: ServerProcess) -> list[str]:
    """Once storage is back: the burst runs until the spool is replayed, then stops; every
    record the fault sent to the spool reached the database and none was lost. The ids the
    app got."""
    burst.run_until(lambda: health(server)["spool_pending"] == 0, 60)
    made = burst.stop()
    settled = wait_settled(server)
    assert settled["lost"] == 0 and settled["replayed"] == settled["spooled"] > 0
    return made


def stored_ids(db: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM calls")]


def assert_exactly_once(made: list[str], db: Path) -> None:
    rows = stored_ids(db)
    assert len(rows) == len(set(rows))
    missing = set(made) - set(rows)
    assert not missing, f"{len(missing)} of {len(made)} calls not stored"
    assert len(rows) == len(made)


def start_server(upstream: str, db: Path, *extra: str) -> ServerProcess:
    return ServerProcess(upstream, db, "--spool-dir", str(db.parent / "spool"), *extra)


def test_a_write_lock_held_past_the_busy_timeout_loses_nothing(
    upstream: str, tmp_path: Path
) -> None:
    db = tmp_path / "w.db"
    server = start_server(upstream, db)
    try:
        burst = Burst(server.url + "/v1").start()
        burst.run_until(lambda: burst.count() >= 50, 30)
        locker = sqlite3.connect(db, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            locked_at = burst.count()
            burst.run_until(lambda: health(server)["spool_pending"] > 0, 30)
            assert health(server)["status"] == "degraded"
            burst.run_until(lambda: burst.count() >= locked_at + 200, 30)
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        made = recovered(burst, server)
    finally:
        code, out = server.stop()
    assert code == 0, out
    assert_exactly_once(made, db)


def _chattr(flag: str, *paths: Path) -> None:
    subprocess.run(["chattr", flag, *map(str, paths)], check=True, capture_output=True)


def _immutable_supported(tmp_path: Path) -> str | None:
    if os.geteuid() != 0 or shutil.which("chattr") is None:
        return "needs root and chattr"
    probe = tmp_path / "probe"
    probe.write_text("x")
    try:
        _chattr("+i", probe)
    except subprocess.CalledProcessError as exc:
        return f"this filesystem has no immutable flag: {exc.stderr!r}"
    _chattr("-i", probe)
    return None


def test_a_read_only_database_loses_nothing_and_recovers(upstream: str, tmp_path: Path) -> None:
    reason = _immutable_supported(tmp_path)
    if reason:
        pytest.skip(reason)
    db = tmp_path / "w.db"
    server = start_server(upstream, db)
    # The database and its WAL; not the -shm index, which SQLite maps into memory (a write
    # to an immutable mapping is SIGBUS, a different fault from storage refusing writes).
    files = [p for p in (db, tmp_path / "w.db-wal") if p.exists()]
    try:
        burst = Burst(server.url + "/v1").start()
        burst.run_until(lambda: burst.count() >= 50, 30)
        _chattr("+i", *files)
        try:
            frozen_at = burst.count()
            burst.run_until(lambda: health(server)["status"] == "degraded", 30)
            burst.run_until(lambda: burst.count() >= frozen_at + 200, 30)
            assert health(server)["spool_pending"] > 0
        finally:
            _chattr("-i", *files)
        made = recovered(burst, server)
    finally:
        code, out = server.stop()
    assert code == 0, out
    assert_exactly_once(made, db)


def test_a_removed_data_directory_is_recreated_and_every_later_call_stored(
    upstream: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = data / "w.db"
    server = ServerProcess(upstream, db, "--spool-dir", str(tmp_path / "spool"))
    try:
        burst = Burst(server.url + "/v1").start()
        burst.run_until(lambda: burst.count() >= 50, 30)
        shutil.rmtree(data)
        removed_at = burst.count()
        burst.run_until(lambda: db.exists() and burst.count() >= removed_at + 200, 30)
        made = burst.stop()
        wait_settled(server)
    finally:
        code, out = server.stop()
    assert code == 0, out
    later = made[removed_at + 4 * 2 :]  # calls finished before the removal went with it
    rows = set(stored_ids(db))
    missing = [i for i in later if i not in rows]
    assert not missing, f"{len(missing)} of {len(later)} calls after the removal not stored"
    assert "storage: database file" in out and "was deleted while the server ran" in out


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A 32 MiB tmpfs (root only); skips when the machine cannot mount one."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_loses_nothing_and_recovers(
    upstream: str, tmp_path: Path, small_filesystem: Path
) -> None:
    db = small_filesystem / "w.db"
    server = ServerProcess(upstream, db, "--spool-dir", str(tmp_path / "spool"))
    filler = small_filesystem / "filler"
    try:
        burst = Burst(server.url + "/v1").start()
        burst.run_until(lambda: burst.count() >= 50, 30)
        with contextlib.suppress(OSError), filler.open("wb") as fill:
            while True:
                fill.write(b"\0" * 65536)
                fill.flush()
        full_at = burst.count()
        burst.run_until(lambda: health(server)["spool_pending"] > 0, 60)
        burst.run_until(lambda: burst.count() >= full_at + 300, 60)
        filler.unlink()
        made = recovered(burst, server)
    finally:
        code, out = server.stop()
    assert code == 0, out
    assert_exactly_once(made, db)


def test_kill_9_during_a_burst_keeps_every_call_answered_a_second_before(
    upstream: str, tmp_path: Path
) -> None:
    db = tmp_path / "w.db"
    server = start_server(upstream, db)
    burst = Burst(server.url + "/v1", threads=16).start()
    burst.run_until(lambda: burst.count() >= 2000, 120)
    burst.halt()
    server.proc.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    code, _ = server.stop()  # reaps the killed process and closes its pipe
    assert code == -signal.SIGKILL
    burst.stop()
    with burst._lock:
        answered_before = [i for i, t in burst.finished_at.items() if t < killed_at - 1.0]
    restarted = start_server(upstream, db)
    try:
        wait_settled(restarted)
    finally:
        code, out = restarted.stop()
    assert code == 0, out
    rows = set(stored_ids(db))
    missing = [i for i in answered_before if i not in rows]
    assert not missing, f"{len(missing)} calls answered over 1 s before the kill were lost"
