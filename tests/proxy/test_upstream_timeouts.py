"""``--connect-timeout`` and ``--read-timeout`` as a user sets them: an upstream that never
accepts the connection is a 504 after the connect timeout, and both flags and their
variables reach the settings. (Upstream silence after connecting, the read timeout's
504, is ``forward/test_handler_edges.py``'s ``test_slow_upstream_times_out_with_504``.)
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest
from wiretrace_proxy.app import create_app
from wiretrace_proxy.cli import build_parser
from wiretrace_proxy.commands import serve
from wiretrace_proxy.commands.options import settings_from_args
from wiretrace_proxy.settings import ENV_CONNECT_TIMEOUT, ENV_READ_TIMEOUT, Settings

from tests.harness import start_site


@contextmanager
def upstream_that_never_accepts() -> Iterator[str]:
    """A port whose accept queue is full: the kernel drops new SYNs, so a connect hangs."""
    with socket.socket() as listener, socket.socket() as queued:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        queued.connect(("127.0.0.1", port))  # fills the queue; never accepted
        yield f"http://127.0.0.1:{port}"


async def test_an_upstream_that_never_accepts_is_504_after_the_connect_timeout(
    tmp_path: Path,
) -> None:
    with upstream_that_never_accepts() as url:
        settings = Settings(
            upstream=url, db_url=f"sqlite:///{tmp_path / 'w.db'}", key_salt="s", connect_timeout=0.5
        )
        runner, base = await start_site(create_app(settings))
        try:
            async with aiohttp.ClientSession() as session:
                start = time.monotonic()
                async with session.post(
                    base + "/v1/chat/completions", json={"model": "gpt-4o", "messages": []}
                ) as resp:
                    body = await resp.json()
                elapsed = time.monotonic() - start
        finally:
            await runner.cleanup()
    assert resp.status == 504, body
    assert body["error"]["type"] == "upstream_timeout"
    assert body["error"]["code"] == "gateway_timeout"
    assert 0.4 <= elapsed < 3, elapsed


@pytest.mark.parametrize(
    ("flag", "env", "field"),
    [
        ("--connect-timeout", ENV_CONNECT_TIMEOUT, "connect_timeout"),
        ("--read-timeout", ENV_READ_TIMEOUT, "read_timeout"),
    ],
)
def test_timeout_flags_and_variables_set_the_settings(
    monkeypatch: pytest.MonkeyPatch, flag: str, env: str, field: str
) -> None:
    def parse(*args: str) -> Settings:
        return settings_from_args(build_parser().parse_args(["serve", *args]), serve.FIELDS)

    monkeypatch.delenv(env, raising=False)
    assert getattr(parse(), field) == getattr(Settings(), field)
    monkeypatch.setenv(env, "2.5")
    assert getattr(parse(), field) == 2.5
    assert getattr(parse(flag, "7"), field) == 7.0  # the flag wins over its variable
