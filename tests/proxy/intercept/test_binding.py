"""The intercept proxy's address follows the server's rule: beyond loopback it needs its
token (``--auth-token`` guards the server, not the proxy), else ``serve`` and
``intercept run`` refuse in one line before anything starts, unless ``--insecure-no-auth``."""

from __future__ import annotations

import http.client
import os
import subprocess
from base64 import b64encode
from pathlib import Path

import pytest
from wiretrace_proxy.intercept.binding import unprotected_intercept
from wiretrace_proxy.settings import Settings

from tests.proxy.intercept.conftest import TOKEN, wait_listening
from tests.proxy.process import ServerProcess, free_port, wiretrace_cmd

AUTH_TOKEN = "server-auth-token-0123456789"


def wiretrace(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WIRETRACE_")}
    return subprocess.run(
        wiretrace_cmd(*args), capture_output=True, text=True, timeout=60, env={**clean, **env}
    )


def assert_refused(done: subprocess.CompletedProcess[str], prog: str, host: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"{prog}: error: --intercept listens on {host}, beyond")
    assert "WIRETRACE_INTERCEPT_TOKEN" in lines[0] and "--insecure-no-auth" in lines[0]


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20"])
def test_a_network_address_without_the_intercept_token_is_refused(host: str) -> None:
    done = wiretrace(
        "serve",
        "--host",
        host,
        "--port",
        "0",
        "--db",
        ":memory:",
        "--auth-token",
        AUTH_TOKEN,
        "--intercept",
        "0",
    )
    assert_refused(done, "wiretrace serve", host)


def test_the_variables_spell_the_same_refusal() -> None:
    done = wiretrace(
        "serve",
        "--port",
        "0",
        "--db",
        ":memory:",
        WIRETRACE_HOST="0.0.0.0",
        WIRETRACE_AUTH_TOKEN=AUTH_TOKEN,
        WIRETRACE_INTERCEPT="0",
    )
    assert_refused(done, "wiretrace serve", "0.0.0.0")


def test_intercept_run_refuses_before_it_starts_anything(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    done = wiretrace(
        "intercept",
        "run",
        "--host",
        "0.0.0.0",
        "--auth-token",
        AUTH_TOKEN,
        "--intercept",
        str(free_port()),
        "--db",
        str(tmp_path / "calls.db"),
        "--",
        "touch",
        str(ran),
    )
    if "not installed" in done.stderr:
        pytest.skip(done.stderr.strip())
    assert_refused(done, "wiretrace intercept run", "0.0.0.0")
    assert not ran.exists()


@pytest.mark.parametrize(
    ("host", "token", "insecure", "refused"),
    [
        ("127.0.0.1", None, False, False),
        ("::1", None, False, False),
        ("localhost", None, False, False),
        ("0.0.0.0", None, False, True),
        ("", None, False, True),
        ("10.0.0.5", "proxy-token-123", False, False),
        ("10.0.0.5", None, True, False),
    ],
)
def test_which_addresses_need_the_token(
    host: str, token: str | None, insecure: bool, refused: bool
) -> None:
    settings = Settings(
        host=host, intercept_port=8788, intercept_token=token, insecure_no_auth=insecure
    )
    assert (unprotected_intercept(settings) is not None) is refused
    assert unprotected_intercept(Settings(host="0.0.0.0", insecure_no_auth=True)) is None


def test_with_the_token_it_listens_beyond_loopback_and_requires_it(
    data_home: Path, tmp_path: Path
) -> None:
    port = free_port()
    server = ServerProcess(
        "http://127.0.0.1:9",
        tmp_path / "calls.db",
        "--host",
        "0.0.0.0",
        "--auth-token",
        AUTH_TOKEN,
        "--intercept",
        str(port),
        "--intercept-token",
        TOKEN,
    )
    try:
        wait_listening(port)
        statuses = []
        for token in (None, TOKEN):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            headers = {}
            if token:
                credentials = b64encode(f"wiretrace:{token}".encode()).decode()
                headers["Proxy-Authorization"] = f"Basic {credentials}"
            conn.request("CONNECT", "api.openai.com:443", headers=headers)
            statuses.append(conn.getresponse().status)
            conn.close()
        assert statuses == [407, 200]
    finally:
        server.stop()
