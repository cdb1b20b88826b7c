"""One wiretrace server with intercept mode (token-guarded) for the module's tests, the
fake OpenAI upstream behind it twice: over TLS as ``api.openai.com`` (``--route``) for
intercepted calls, over plain HTTP as ``--upstream`` for the same calls reverse-proxied."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from wiretrace_proxy.errors import ConfigError
from wiretrace_proxy.intercept.install import find_mitmdump

from tests.fakes.upstream import create_fake_upstream
from tests.harness import fake_upstream_url
from tests.proxy.intercept.tls_servers import TlsSite, tls_site
from tests.proxy.process import ServerProcess, free_port, wiretrace_cmd

TOKEN = "intercept-test-token"


def mitmdump_or_skip() -> None:
    try:
        find_mitmdump(os.environ.get("WIRETRACE_MITMDUMP"))
    except ConfigError as exc:
        pytest.skip(str(exc))


def wait_listening(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # another process starting: nothing here to wait on


@dataclass
class Intercept:
    server: ServerProcess
    port: int
    env: dict[str, str]
    """Only what ``wiretrace intercept env`` prints, plus PATH and an API key."""
    upstream: TlsSite
    data_home: Path


def intercept_env(port: int, *extra: str) -> dict[str, str]:
    printed = subprocess.run(
        wiretrace_cmd("intercept", "env", "--intercept", str(port), *extra),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    env = {"PATH": os.environ["PATH"], "OPENAI_API_KEY": "sk-intercept-test-1234567890abcdef"}
    for line in printed.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = value.strip("'")
    return env


@pytest.fixture(scope="module")
def data_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Intercept mode's data directory (its CA) for this module only."""
    mitmdump_or_skip()
    home = tmp_path_factory.mktemp("data")
    old = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(home)
    yield home
    if old is None:
        del os.environ["XDG_DATA_HOME"]
    else:
        os.environ["XDG_DATA_HOME"] = old


@pytest.fixture(scope="module")
def intercept(data_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Intercept]:
    directory = tmp_path_factory.mktemp("intercept")
    with (
        tls_site(create_fake_upstream(), ["api.openai.com", "127.0.0.1"], directory) as site,
        fake_upstream_url() as plain,
    ):
        port = free_port()
        server = ServerProcess(
            plain,
            directory / "calls.db",
            "--intercept",
            str(port),
            "--intercept-token",
            TOKEN,
            "--route",
            f"api.openai.com={site.url}",
            "--route-ca",
            str(site.ca_file),
        )
        try:
            wait_listening(port)
            env = intercept_env(port, "--intercept-token", TOKEN)
            yield Intercept(server, port, env, site, data_home)
        finally:
            server.stop()


def run_python(code: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
