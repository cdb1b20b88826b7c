"""The server's ``/intercept/`` route alone (no mitmproxy needed): it forwards only what
the intercept child sends, with its secret, to an LLM host, and refuses anything else
without contacting anyone, so it is no relay."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from wiretrace_proxy.forward.intercepted import INTERCEPT
from wiretrace_proxy.intercept.intercept_protocol import SECRET_HEADER

from tests.harness import Servers


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    s = Servers(f"sqlite:///{tmp_path / 'wiretrace.db'}", key_salt="test-salt", intercept_port=0)
    # Intercepted calls to api.openai.com go to the fake upstream (plain http here).
    s.app[INTERCEPT].routes["api.openai.com"] = s.upstream_url  # type: ignore[index]
    try:
        yield s
    finally:
        s.close()


def post(servers: Servers, path: str, secret: str | None) -> tuple[int, dict[str, object]]:
    body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
    request = urllib.request.Request(
        servers.proxy_url + path,
        data=body.encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer sk-route-test"},
    )
    if secret is not None:
        request.add_header(SECRET_HEADER, secret)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.load(exc)


def test_the_child_secret_forwards_to_the_llm_host_and_records(servers: Servers) -> None:
    secret = servers.app[INTERCEPT].secret
    status, body = post(servers, "/intercept/api.openai.com/v1/chat/completions", secret)
    assert status == 200
    assert body["object"] == "chat.completion"
    seen = servers.fake.last()
    assert seen.path == "/v1/chat/completions"
    assert SECRET_HEADER.lower() not in {name.lower() for name in seen.headers}
    (record,) = servers.records()
    assert record.op_name == "openai.chat.completions.create"
    assert record.attributes["app_host"] == "api.openai.com"
    assert record.attributes["provider"] == "openai"
    assert SECRET_HEADER.lower() not in json.dumps(record.attributes).lower()


@pytest.mark.parametrize("secret", [None, "", "not-the-secret"])
def test_without_the_secret_nothing_is_forwarded(servers: Servers, secret: str | None) -> None:
    status, body = post(servers, "/intercept/api.openai.com/v1/chat/completions", secret)
    assert status == 403
    assert "intercept proxy only" in str(body["error"])
    assert servers.fake.seen == []
    assert servers.records() == []


@pytest.mark.parametrize(
    "authority",
    ["example.com", "api.openai.com.evil.example", "mtls.api.openai.com", "127.0.0.1:8787"],
)
def test_a_host_that_is_no_llm_host_is_refused(servers: Servers, authority: str) -> None:
    secret = servers.app[INTERCEPT].secret
    status, body = post(servers, f"/intercept/{authority}/v1/chat/completions", secret)
    assert status == 403
    assert "not an LLM API host" in str(body["error"])
    assert servers.fake.seen == []
