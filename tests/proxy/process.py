"""Run ``wiretrace serve`` as a real process, as a user would, for CLI and lifecycle tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_stored(url: str, call_id: str, timeout: float = 10) -> None:
    """Return once the server at ``url`` has stored ``call_id`` (its writer flushes within
    ~50 ms); raise the last HTTP error after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/calls/{call_id}", timeout=5):
                return
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code != 404 or time.monotonic() > deadline:
                raise
        time.sleep(0.02)  # another process's writer: nothing here to wait on


def wiretrace_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "wiretrace_proxy.cli", *args]


class ServerProcess:
    """``wiretrace serve`` in a subprocess, ready once ``/healthz`` answers; ``db`` is a
    SQLite file or a database URL (``--db`` takes either)."""

    def __init__(self, upstream: str, db: Path | str, *extra: str, wait: bool = True) -> None:
        """Start it; ``wait=False`` returns at once (call ``wait_ready``), to start several
        at the same moment."""
        self.terminated = False
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            wiretrace_cmd(
                "serve", "--port", str(self.port), "--upstream", upstream, "--db", str(db), *extra
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            text=True,
        )
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read() if self.proc.stdout else ""
                pytest.fail(f"wiretrace exited early ({self.proc.returncode}): {out}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.05)  # polling a process that is starting: nothing to wait on
        pytest.fail("wiretrace did not become ready")

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def terminate(self) -> None:
        """SIGTERM, once: a second one would tell the server to stop waiting and exit now."""
        if not self.terminated and self.proc.poll() is None:
            self.terminated = True
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 30) -> tuple[int, str]:
        """SIGTERM (unless ``terminate`` sent it), then the exit status and the output."""
        self.terminate()
        out, _ = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out


def get_call(base_url: str, call_id: str, timeout: float = 10) -> dict[str, object]:
    """The record once the server's writer has stored it (records land within ~50 ms)."""
    import json
    import urllib.error

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{base_url}/api/calls/{call_id}", timeout=5) as resp:
                record: dict[str, object] = json.load(resp)
                return record
        except urllib.error.HTTPError as exc:
            if exc.code != 404 or time.monotonic() > deadline:
                raise
        time.sleep(0.02)  # another process's writer: nothing in this process to wait on
