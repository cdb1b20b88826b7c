"""Byte-faithful forwarding and the proxy's behaviour on faults and bad input."""

from __future__ import annotations

import asyncio
import gzip
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest
from wiretrace_proxy.settings import Settings

from tests.fakes.fake_streams import ANSWER
from tests.harness import Servers, inputs, output

KEY = "sk-proj-SECRETsecretSECRET1234567890wxyz"
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hi"}]}


async def fetch(
    url: str, body: bytes, headers: dict[str, str] | None = None, method: str = "POST"
) -> tuple[int, dict[str, str], list[bytes]]:
    """Raw status, headers and body chunks (no decompression, no parsing)."""
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        async with session.request(method, url, data=body, headers=headers or {}) as resp:
            chunks = [chunk async for chunk in resp.content.iter_any()]
            return resp.status, dict(resp.headers), chunks


def _same_headers(direct: dict[str, str], proxied: dict[str, str]) -> None:
    skip = {"date", "server", "wiretrace-call-id", "transfer-encoding", "connection", "keep-alive"}
    want = {k.lower(): v for k, v in direct.items() if k.lower() not in skip}
    got = {k.lower(): v for k, v in proxied.items() if k.lower() not in skip}
    assert got == want


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        (
            "/v1/chat/completions",
            {**CHAT, "stream": True, "stream_options": {"include_usage": True}},
        ),
        ("/v1/chat/completions", {**CHAT, "stream": True}),
        ("/v1/chat/completions", {**CHAT, "stream": True, "n": 2, "logprobs": True}),
        ("/v1/responses", {"model": "gpt-4o", "input": "hi", "stream": True}),
        ("/v1/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": "hi", "stream": True}),
        ("/v1/chat/completions", CHAT),
    ],
)
async def test_raw_bytes_identical(servers: Servers, path: str, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"}
    d_status, d_headers, d_chunks = await fetch(servers.upstream_url + path, body, headers)
    p_status, p_headers, p_chunks = await fetch(servers.proxy_url + path, body, headers)
    assert p_status == d_status == 200
    assert b"".join(p_chunks) == b"".join(d_chunks)
    _same_headers(d_headers, p_headers)
    assert len(p_headers["Wiretrace-Call-Id"]) == 16


async def test_gzip_body_forwarded_compressed(servers: Servers) -> None:
    body = json.dumps(CHAT).encode()
    headers = {
        "Content-Type": "application/json",
        "Accept-Encoding": "gzip",
        "x-fake-scenario": "gzip",
    }
    _, d_headers, d_chunks = await fetch(
        servers.upstream_url + "/v1/chat/completions", body, headers
    )
    _, p_headers, p_chunks = await fetch(servers.proxy_url + "/v1/chat/completions", body, headers)
    assert p_headers["Content-Encoding"] == "gzip"
    assert b"".join(p_chunks) == b"".join(d_chunks)
    assert json.loads(gzip.decompress(b"".join(p_chunks)))["object"] == "chat.completion"
    rec = servers.record(p_headers["Wiretrace-Call-Id"])
    assert isinstance(rec.output, dict) and output(rec)["object"] == "chat.completion"
    assert servers.fake.last().headers["accept-encoding"] == "gzip"


async def test_client_without_accept_encoding_gets_none_added(servers: Servers) -> None:
    async with aiohttp.ClientSession(skip_auto_headers=("Accept-Encoding", "User-Agent")) as s:
        async with s.get(servers.base_url + "/models") as resp:
            assert resp.status == 200
    seen = servers.fake.last("/v1/models").headers
    assert "accept-encoding" not in seen and "user-agent" not in seen


def test_secrets_never_stored_and_metadata_headers_not_forwarded(
    servers: Servers, tmp_path: Path
) -> None:
    client = openai.OpenAI(api_key=KEY, base_url=servers.base_url, organization="org-SECRETORG")
    prompt = f"my key is {KEY}, please remember it"
    client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": prompt}],
        extra_headers={
            "Wiretrace-Project": "billing",
            "Wiretrace-Session-Id": "sess-1",
            "Wiretrace-User-Id": "user-7",
            "Wiretrace-Property-Env": "staging",
            "Cookie": "session=COOKIESECRET",
        },
    )
    seen = servers.fake.last().headers
    assert seen["authorization"] == f"Bearer {KEY}"
    assert not [h for h in seen if h.startswith("wiretrace-")]
    (rec,) = servers.records()
    assert rec.project == "billing" and rec.session_id == "sess-1" and rec.user_id == "user-7"
    assert rec.attributes["properties"] == {"env": "staging"}
    assert rec.key_fingerprint is not None and rec.key_fingerprint.endswith("wxyz")
    db_file = Path(servers.settings.database_url.removeprefix("sqlite:///"))
    conn = sqlite3.connect(db_file)
    conn.execute("PRAGMA wal_checkpoint(FULL)")
    conn.close()
    stored = [
        p
        for p in db_file.parent.rglob("*")
        if p.name.startswith(db_file.name) or (p.parent.name.startswith(db_file.name))
    ]  # the database, its WAL, and the spool's files
    raw = b"".join(p.read_bytes() for p in stored if p.is_file())
    for secret in (KEY, KEY[3:-4], "SECRETORG", "COOKIESECRET"):
        assert secret.encode() not in raw, secret


def test_traceparent_forwarded_and_links_the_call(servers: Servers) -> None:
    client = openai.OpenAI(api_key=KEY, base_url=servers.base_url)
    tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "x"}],
        extra_headers={"traceparent": tp, "tracestate": "congo=t61rcWkgMzE"},
    )
    assert servers.fake.last().headers["traceparent"] == tp
    (rec,) = servers.records()
    assert rec.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert rec.parent_id == "00f067aa0ba902b7"
    client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "x"}],
        extra_headers={"traceparent": "not-a-traceparent"},
    )
    newest = servers.records()[0]
    assert newest.parent_id is None and len(newest.trace_id) == 32


async def test_bad_input_forwarded_and_recorded_raw(servers: Servers) -> None:
    status, _, chunks = await fetch(
        servers.proxy_url + "/v1/chat/completions",
        b'{"model": "gpt-4o", "messages": [',
        {"Content-Type": "application/json"},
    )
    assert status == 500  # the fake upstream's own answer to unparseable JSON
    assert servers.fake.last().body == b'{"model": "gpt-4o", "messages": ['
    status, _, _ = await fetch(
        servers.proxy_url + "/v1/chat/completions", b"hello there", {"Content-Type": "text/plain"}
    )
    status, _, chunks = await fetch(servers.proxy_url + "/v1/unknown/thing", b"{}")
    assert status == 404 and json.loads(b"".join(chunks))["error"]["code"] == "unknown_url"
    unknown, text, malformed = servers.records()
    assert isinstance(malformed.inputs, dict) and "parse_error" in malformed.inputs
    assert inputs(malformed)["raw"] == '{"model": "gpt-4o", "messages": ['
    assert isinstance(text.inputs, dict) and inputs(text)["raw"] == "hello there"
    assert unknown.op_name == "openai.request"
    assert unknown.display_name == "POST /v1/unknown/thing"
    assert unknown.status == "error" and unknown.http_status == 404


async def test_upstream_unreachable_gives_502(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    s = Servers(f"sqlite:///{tmp_path / 'w.db'}", key_salt="s")
    s.app[
        __import__("wiretrace_proxy.appkeys").appkeys.UPSTREAM
    ].base_url = f"http://127.0.0.1:{port}"
    try:
        client = openai.AsyncOpenAI(api_key=KEY, base_url=s.base_url, max_retries=0)
        with pytest.raises(openai.InternalServerError) as err:
            await client.chat.completions.create(model="gpt-4o", messages=[])
        assert err.value.status_code == 502
        assert isinstance(err.value.body, dict) and err.value.body["type"] == "upstream_unreachable"
        await client.close()
        (rec,) = s.records()
        assert rec.status == "error" and rec.http_status == 502
        assert rec.error is not None and rec.error["type"] == "upstream_unreachable"
    finally:
        s.close()


def test_slow_upstream_times_out_with_504(tmp_path: Path) -> None:
    s = Servers(f"sqlite:///{tmp_path / 'w.db'}", key_salt="s", read_timeout=0.3)
    try:
        client = openai.OpenAI(api_key=KEY, base_url=s.base_url, max_retries=0)
        with pytest.raises(openai.APIStatusError) as err:
            client.chat.completions.create(
                model="gpt-4o", messages=[], extra_headers={"x-fake-scenario": "slow_2"}
            )
        assert err.value.status_code == 504
        (rec,) = s.records()
        assert rec.status == "error" and rec.error is not None
        assert rec.error["type"] == "upstream_timeout"
    finally:
        s.close()


def test_slow_upstream_within_timeout_is_just_slow(servers: Servers) -> None:
    client = openai.OpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    got = client.chat.completions.create(
        model="gpt-4o", messages=[], extra_headers={"x-fake-scenario": "slow_0.3"}
    )
    assert got.choices[0].message.content == ANSWER
    (rec,) = servers.records()
    assert rec.latency_ms is not None and rec.latency_ms >= 300
    assert rec.overhead_ms is not None and rec.overhead_ms < 100


async def test_client_cancel_mid_stream_cancels_upstream(servers: Servers) -> None:
    client = openai.AsyncOpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    stream = await client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "x"}],
        stream=True,
        extra_headers={"x-fake-scenario": "hold"},
    )
    received = []
    async for chunk in stream:
        received.append(chunk)
        if len(received) == 2:
            break
    await stream.close()  # the app gives up mid-stream
    await asyncio.to_thread(servers.wait, servers.fake.stream_closed)
    await client.close()
    (rec,) = await asyncio.to_thread(servers.records)
    assert rec.status == "cancelled"
    assert rec.error is not None
    assert isinstance(rec.output, dict)
    assert output(rec)["choices"][0]["message"]["role"] == "assistant"


def test_many_concurrent_calls_all_recorded(servers: Servers) -> None:
    client = openai.OpenAI(api_key=KEY, base_url=servers.base_url)
    errors: list[BaseException] = []

    def call(i: int) -> None:
        try:
            list(
                client.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": f"n{i}"}], stream=True
                )
            )
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    records = servers.records()
    assert len(records) == 40 and {r.status for r in records} == {"ok"}


def test_settings_defaults_match_contract() -> None:
    s = Settings()
    assert (s.host, s.port, s.upstream) == ("127.0.0.1", 8787, "https://api.openai.com")
