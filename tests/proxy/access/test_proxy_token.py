"""``--proxy-token``: ``/v1`` calls need a ``Wiretrace-Token`` header, which is never
forwarded nor stored; the API's token is a separate matter."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import openai
import pytest

from tests.harness import Servers
from tests.proxy.access.conftest import PROXY_TOKEN, TOKEN

KEY = "sk-test-proxy-token-00000000000000000000"


@pytest.fixture
def gated(tmp_path: Path) -> Iterator[Servers]:
    s = Servers(f"sqlite:///{tmp_path / 'w.db'}", key_salt="s", proxy_tokens=(PROXY_TOKEN,))
    try:
        yield s
    finally:
        s.close()


def client(servers: Servers, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=servers.base_url, api_key=KEY, default_headers=headers, max_retries=0
    )


def test_a_call_with_the_token_is_forwarded_without_it(gated: Servers) -> None:
    with client(gated, **{"Wiretrace-Token": PROXY_TOKEN}) as app:
        raw = app.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert raw.status_code == 200 and raw.parse().choices[0].message.content
    seen = gated.fake.last("/v1/chat/completions")
    assert "wiretrace-token" not in {name.lower() for name in seen.headers}
    assert PROXY_TOKEN not in json.dumps(seen.headers)
    record = gated.record(raw.headers["wiretrace-call-id"])
    assert record.status == "ok"
    assert PROXY_TOKEN not in json.dumps(asdict(record), default=str)


def test_a_call_without_the_token_is_refused_and_not_recorded(gated: Servers) -> None:
    for headers in ({}, {"Wiretrace-Token": PROXY_TOKEN[:-1]}):
        with client(gated, **headers) as app, pytest.raises(openai.AuthenticationError) as refused:
            app.chat.completions.create(model="gpt-4o-mini", messages=[])
        assert refused.value.code == "invalid_wiretrace_token"
        assert "Wiretrace-Token" in refused.value.message
    assert gated.fake.seen == [] and gated.records() == []


def test_the_proxy_token_does_not_open_the_api_and_the_api_token_not_the_proxy(
    tmp_path: Path,
) -> None:
    servers = Servers(
        f"sqlite:///{tmp_path / 'w.db'}",
        key_salt="s",
        auth_tokens=(TOKEN,),
        proxy_tokens=(PROXY_TOKEN,),
    )
    try:
        with client(servers, **{"Wiretrace-Token": TOKEN}) as app:
            with pytest.raises(openai.AuthenticationError):
                app.chat.completions.create(model="gpt-4o-mini", messages=[])
        with client(servers, **{"Wiretrace-Token": PROXY_TOKEN}) as app:
            assert app.models.list().data  # the proxy needs no API token
        api = openai.OpenAI(base_url=f"{servers.proxy_url}/api", api_key=PROXY_TOKEN)
        with api, pytest.raises(openai.AuthenticationError):
            api.get("/calls", cast_to=object)
    finally:
        servers.close()
