"""Intercept mode's pure parts: the flags and variables, the hosts mitmproxy decrypts,
the exported environment; and a server whose mitmproxy is missing runs on without it."""

from __future__ import annotations

import argparse
import re
import subprocess
import urllib.request
from pathlib import Path

import pytest
from wiretrace_proxy.cli import build_parser
from wiretrace_proxy.intercept.ca import CaFiles
from wiretrace_proxy.intercept.environment import export_lines, proxy_url, variables
from wiretrace_proxy.intercept.hosts import allow_hosts
from wiretrace_proxy.intercept.routes import parse_route, parse_token

from tests.proxy.process import ServerProcess


def serve_args(*argv: str) -> argparse.Namespace:
    """``wiretrace serve ARGV`` parsed (variables read from the environment now)."""
    return build_parser().parse_args(["serve", *argv])


def test_intercept_flag_alone_means_the_default_port(monkeypatch: pytest.MonkeyPatch) -> None:
    assert serve_args("--intercept").intercept_port == 8788
    assert serve_args("--intercept", "9000").intercept_port == 9000
    assert serve_args().intercept_port is None
    monkeypatch.setenv("WIRETRACE_INTERCEPT", "9001")
    assert serve_args().intercept_port == 9001


def test_repeated_flags_replace_their_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIRETRACE_LLM_HOST", "a.corp.example, *.llm.example")
    assert serve_args().llm_hosts == ("a.corp.example", "*.llm.example")
    args = serve_args("--llm-host", "b.corp.example", "--llm-host", "c.corp.example")
    assert args.llm_hosts == ("b.corp.example", "c.corp.example")
    routes = serve_args("--route", "api.openai.com=https://gw.example/base/")
    assert routes.routes == (("api.openai.com", "https://gw.example/base"),)


@pytest.mark.parametrize(
    "value",
    [
        "api.openai.com",
        "=https://x",
        "api.openai.com=ftp://x",
        "*.corp.example=https://x",
        "api.openai.com=https://x?y=1",
        "api.openai.com:443=https://x",
    ],
)
def test_a_bad_route_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        parse_route(value)


@pytest.mark.parametrize("value", ["short", "has space in it", "colon:inside", "x" * 300])
def test_a_bad_token_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        parse_token(value)


def _decrypted(expression: str, host_port: str) -> bool:
    """mitmproxy's test: ``re.search`` with IGNORECASE on ``host:port``."""
    return re.search(expression, host_port, re.IGNORECASE) is not None


def test_only_llm_hosts_are_decrypted() -> None:
    expression = allow_hosts(["*.corp.example"])
    for host in [
        "api.openai.com:443",
        "API.OpenAI.com:443",
        "eu.api.openai.com:443",
        "my-res.openai.azure.com:443",
        "api.groq.com:443",
        "x.corp.example:8443",
    ]:
        assert _decrypted(expression, host), host
    for host in [
        "mtls.api.openai.com:443",
        "api.openai.com.evil.example:443",
        "evilapi.openai.com:443",
        "github.com:443",
        "corp.example:443",
        "140.82.112.3:443",
        "api.openai.com",
    ]:
        assert not _decrypted(expression, host), host


def test_env_exports_proxy_and_trust_but_never_http_proxy(tmp_path: Path) -> None:
    files = CaFiles(tmp_path, tmp_path / "ca.pem", tmp_path / "bundle.pem")
    url = proxy_url("127.0.0.1", 8788, "secret-token")
    assert url == "http://wiretrace:secret-token@127.0.0.1:8788"
    values = variables(url, files)
    assert values["HTTPS_PROXY"] == values["https_proxy"] == url
    assert values["SSL_CERT_FILE"] == values["REQUESTS_CA_BUNDLE"] == str(files.bundle)
    assert values["NODE_EXTRA_CA_CERTS"] == str(files.cert)
    assert "HTTP_PROXY" not in values and "http_proxy" not in values
    printed = subprocess.run(
        ["sh", "-c", "\n".join(export_lines(values)) + '\nprintf %s "$NO_PROXY"'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert printed == "localhost,127.0.0.1,::1"


def test_without_mitmproxy_the_server_says_so_and_serves(tmp_path: Path) -> None:
    server = ServerProcess(
        "http://127.0.0.1:9",
        tmp_path / "calls.db",
        "--intercept",
        "0",
        "--mitmdump",
        str(tmp_path / "no-mitmdump"),
    )
    with urllib.request.urlopen(server.url + "/healthz", timeout=5) as response:
        assert response.status == 200
    code, out = server.stop()
    assert code == 0
    lines = [line for line in out.splitlines() if "intercept" in line]
    assert len(lines) == 1 and "no such file" in lines[0], out
