"""``wiretrace serve`` as a user runs it: no token on a network address is refused in one
line, tokens come from flags, variables and files, and the banner says who can connect."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from wiretrace_proxy.server import banner_lines
from wiretrace_proxy.settings import Settings

from tests.proxy.access.conftest import OTHER, TOKEN
from tests.proxy.process import ServerProcess, wiretrace_cmd


def serve(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WIRETRACE_")}
    return subprocess.run(
        wiretrace_cmd("serve", "--port", "0", "--db", ":memory:", *args),
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **env},
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "wiretrace.example"])
def test_a_network_address_without_a_token_is_refused_in_one_line(host: str) -> None:
    done = serve("--host", host)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"wiretrace serve: error: --host {host} listens beyond")
    assert "WIRETRACE_AUTH_TOKEN" in lines[0] and "--insecure-no-auth" in lines[0]


def test_the_variables_spell_the_same_refusal() -> None:
    done = serve(WIRETRACE_HOST="0.0.0.0")
    assert done.returncode == 2 and "--host 0.0.0.0 listens beyond" in done.stderr


def test_a_bad_token_is_refused_without_printing_it(tmp_path: Path) -> None:
    done = serve(WIRETRACE_AUTH_TOKEN="tooshort-secret")
    assert done.returncode == 2 and "at least 16 characters" in done.stderr
    assert "tooshort-secret" not in done.stderr
    done = serve("--auth-token", "tooshort-secret")
    assert done.returncode == 2 and "tooshort-secret" not in done.stderr
    done = serve("--auth-token-file", str(tmp_path / "missing"))
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1
    assert "cannot read token file" in done.stderr


def test_help_never_prints_a_token_from_the_environment() -> None:
    done = subprocess.run(
        wiretrace_cmd("serve", "--help"),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "WIRETRACE_AUTH_TOKEN": TOKEN, "WIRETRACE_PROXY_TOKEN": OTHER},
    )
    assert done.returncode == 0 and "--auth-token" in done.stdout
    assert TOKEN not in done.stdout and OTHER not in done.stdout


def test_tokens_from_a_file_and_a_variable_open_the_api_to_curl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"# the team's token\n{OTHER}\n")
    monkeypatch.setenv("WIRETRACE_AUTH_TOKEN", TOKEN)
    server = ServerProcess("http://127.0.0.1:9", ":memory:", "--auth-token-file", str(tokens))
    try:
        url = f"{server.url}/api/calls"
        for token in (TOKEN, OTHER):
            done = subprocess.run(
                ["curl", "-sf", "-H", f"Authorization: Bearer {token}", url],
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert done.returncode == 0 and json.loads(done.stdout)["calls"] == []
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=10)
        assert refused.value.code == 401
        refused.value.close()
    finally:
        code, out = server.stop()
    assert code == 0
    assert f"listening on:       127.0.0.1:{server.port} (this machine only)" in out
    assert "sign-in:            token required" in out


def test_the_banner_warns_when_anyone_on_the_network_may_connect() -> None:
    open_lines = banner_lines(Settings(host="0.0.0.0", insecure_no_auth=True), 8787, ui_built=True)
    text = "\n".join(open_lines)
    assert "listening on:       0.0.0.0:8787 (other machines can connect)" in text
    assert "WARNING: no --auth-token on a network address" in text
    guarded = "\n".join(
        banner_lines(Settings(host="::", auth_tokens=(TOKEN,)), 8787, ui_built=True)
    )
    assert "listening on:       [::]:8787 (other machines can connect)" in guarded
    assert "WARNING" not in guarded and TOKEN not in guarded
    local = "\n".join(banner_lines(Settings(), 8787, ui_built=True))
    assert "(this machine only)" in local and "sign-in:            none" in local
