"""Host, origin and header checks, which hold with or without ``--auth-token``.

A page at ``evil.example`` rebinding its name to 127.0.0.1 sends ``Host: evil.example``:
refused on every path, the proxy's included, before anything reaches the upstream. A page
of another site posting ``text/plain`` (a "simple" request, sent without a preflight) gets
403, and nothing is stored; without an ``Origin`` the JSON content type is still required.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import openai
import pytest
from wiretrace_proxy.access.browser_headers import HEADERS
from wiretrace_proxy.appkeys import ENGINE

from tests.harness import Servers
from tests.proxy import seed

RECORDS = seed.build(traces=1)
CALL = RECORDS[0].id
KEY = "sk-test-access-000000000000000000000000"


async def send(method: str, url: str, **kwargs: Any) -> tuple[int, dict[str, str], str]:
    async with aiohttp.ClientSession() as session:
        async with session.request(method, url, allow_redirects=False, **kwargs) as resp:
            return resp.status, dict(resp.headers), await resp.text()


@pytest.mark.parametrize("path", ["/api/calls", "/v1/models", "/", "/healthz"])
async def test_a_rebound_host_name_is_refused_on_every_path(
    open_servers: Servers, path: str
) -> None:
    status, _, body = await send(
        "GET", open_servers.proxy_url + path, headers={"Host": "evil.example:8787"}
    )
    assert status == 421 and "evil.example" in body
    assert open_servers.fake.seen == []  # nothing went upstream


def test_a_rebound_host_cannot_spend_the_key(open_servers: Servers) -> None:
    client = openai.OpenAI(
        base_url=open_servers.base_url,
        api_key=KEY,
        default_headers={"Host": "evil.example"},
        max_retries=0,
    )
    with client, pytest.raises(openai.APIStatusError) as refused:
        client.chat.completions.create(model="gpt-4o-mini", messages=[])
    assert refused.value.status_code == 421
    assert "does not answer to the host" in refused.value.message
    assert open_servers.fake.seen == [] and open_servers.records() == []


async def test_public_hosts_are_answered(tmp_path: Any) -> None:
    servers = Servers(f"sqlite:///{tmp_path / 'w.db'}", key_salt="s", public_hosts=("wiretrace",))
    try:
        status, _, _ = await send(
            "GET", f"{servers.proxy_url}/api/calls", headers={"Host": "wiretrace:8787"}
        )
        assert status == 200
    finally:
        servers.close()


async def test_a_cross_site_text_plain_post_stores_no_feedback(open_servers: Servers) -> None:
    seed.insert(open_servers.app[ENGINE], RECORDS)
    url = f"{open_servers.proxy_url}/api/calls/{CALL}/feedback"
    body = json.dumps({"thumbs": "down", "note": "forged"})
    plain = {"Content-Type": "text/plain;charset=UTF-8"}
    status, _, answer = await send(
        "POST", url, data=body, headers={**plain, "Origin": "https://evil.example"}
    )
    assert status == 403 and "cross-origin" in json.loads(answer)["error"]["message"]
    status, _, _ = await send(
        "POST", url, data=body, headers={**plain, "Sec-Fetch-Site": "cross-site"}
    )
    assert status == 403
    status, _, answer = await send("POST", url, data=body, headers=plain)  # no Origin
    assert status == 415 and "application/json" in json.loads(answer)["error"]["message"]
    status, _, answer = await send("GET", url)
    assert status == 200 and json.loads(answer) == {"feedback": []}
    # The UI's own request: same origin, JSON.
    same = {"Origin": open_servers.proxy_url, "Content-Type": "application/json"}
    status, _, _ = await send("POST", url, data=body, headers=same)
    assert status == 201
    status, _, answer = await send("GET", url)
    assert [f["note"] for f in json.loads(answer)["feedback"]] == ["forged"]


async def test_cross_site_spans_are_refused(open_servers: Servers) -> None:
    span = {"id": "1" * 16, "trace_id": "2" * 32, "op_name": "forged", "status": "ok"}
    status, _, _ = await send(
        "POST",
        f"{open_servers.proxy_url}/api/spans",
        data=json.dumps({"spans": [span]}),
        headers={"Content-Type": "text/plain", "Origin": "http://localhost:3000"},
    )
    assert status == 403
    assert open_servers.records() == []


async def test_no_cors_is_granted(open_servers: Servers) -> None:
    preflight = {
        "Origin": "https://evil.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    status, headers, _ = await send(
        "OPTIONS", f"{open_servers.proxy_url}/api/calls/{CALL}/feedback", headers=preflight
    )
    assert status >= 400
    assert not any(name.lower().startswith("access-control-") for name in headers)
    _, headers, _ = await send(
        "GET", f"{open_servers.proxy_url}/api/calls", headers={"Origin": "https://evil.example"}
    )
    assert not any(name.lower().startswith("access-control-") for name in headers)


@pytest.mark.parametrize("path", ["/", "/api/calls", "/signin", "/healthz", "/api/nope"])
async def test_pages_and_api_answers_forbid_framing_and_sniffing(
    open_servers: Servers, path: str
) -> None:
    _, headers, _ = await send("GET", open_servers.proxy_url + path)
    for name, value in HEADERS.items():
        assert headers[name] == value
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"


def test_proxied_answers_carry_only_the_upstreams_headers(open_servers: Servers) -> None:
    client = openai.OpenAI(base_url=open_servers.base_url, api_key=KEY, max_retries=0)
    with client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert raw.status_code == 200 and raw.headers["wiretrace-call-id"]
    assert not set(HEADERS) & {name.title() for name in raw.headers}
    assert "content-security-policy" not in raw.headers


async def test_a_page_of_another_site_cannot_call_the_proxy(open_servers: Servers) -> None:
    url = f"{open_servers.proxy_url}/v1/chat/completions"
    body = json.dumps({"model": "gpt-4o-mini", "messages": []})
    headers = {"Content-Type": "text/plain", "Authorization": f"Bearer {KEY}"}
    status, _, answer = await send(
        "POST", url, data=body, headers={**headers, "Origin": "https://evil.example"}
    )
    assert status == 403
    assert json.loads(answer)["error"]["code"] == "cross_origin"  # OpenAI's error shape
    assert open_servers.fake.seen == [] and open_servers.records() == []
    # A web app in development on this machine may (the upstream's CORS answers decide).
    local = {**headers, "Content-Type": "application/json", "Origin": "http://localhost:5173"}
    status, _, _ = await send("POST", url, data=body, headers=local)
    assert status == 200 and len(open_servers.fake.seen) == 1
