"""Hostile input on the request path: the proxy forwards what it cannot read, stays under
``/v1``, keeps header text as sent, and counts what aiohttp's parser refuses.

A raw upstream (``tests.fakes.upstream.RawUpstream``) keeps every request's bytes as they
arrived on its socket, so "byte for byte" is checked on the wire, not through a parser.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from wiretrace_proxy.appkeys import UPSTREAM, WRITER
from wiretrace_proxy.forward.capture import Capture
from wiretrace_proxy.forward.include_usage import INJECT_LIMIT

from tests.fakes.upstream import RawUpstream
from tests.harness import Servers

KEY = "sk-proj-SECRETsecretSECRET1234567890wxyz"


POST_CHAT = (
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json"
)
"""A chat request's head on a loopback ``Host`` (the host check refuses any other)."""


class Raw:
    """The proxy in front of a raw upstream, and the captures it hands to the writer."""

    def __init__(self, servers: Servers, upstream: RawUpstream) -> None:
        self.servers = servers
        self.upstream = upstream
        self.captures: list[Capture] = []

    async def send(self, head: bytes, body: bytes = b"") -> tuple[int, bytes, bytes]:
        """``head`` (request line and headers, no blank line) and ``body`` on a fresh
        connection; the status, the response head and the response body."""
        host, port = self.servers.proxy_url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(head + b"\r\nConnection: close\r\n\r\n" + body)
        await writer.drain()
        data = await reader.read()
        writer.close()
        response_head, _, response_body = data.partition(b"\r\n\r\n")
        return int(response_head.split(b" ", 2)[1]), response_head, response_body

    async def captured(self, count: int = 1) -> list[Capture]:
        """The captures once ``count`` calls were handed to the writer (not yet recorded)."""
        for _ in range(500):
            if len(self.captures) >= count:
                return self.captures
            await asyncio.sleep(0.01)
        raise AssertionError(f"{len(self.captures)} of {count} calls handed over")


@pytest.fixture
def raw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Raw]:
    servers = Servers(f"sqlite:///{tmp_path / 'wiretrace.db'}", key_salt="test-salt")
    upstream = RawUpstream()
    try:
        servers.app[UPSTREAM].base_url = servers.thread.call(upstream.start())
        harness = Raw(servers, upstream)
        writer = servers.app[WRITER]
        submit = writer.submit

        def tee(capture: Capture) -> None:
            harness.captures.append(capture)
            submit(capture)

        monkeypatch.setattr(writer, "submit", tee)
        yield harness
    finally:
        servers.thread.call(upstream.stop())
        servers.close()


def _sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


# 1. Fail open: a body the proxy cannot parse goes upstream as sent.


@pytest.mark.parametrize(
    "body",
    [
        b'{"model":"gpt-4o","stream":true,"messages":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"model":"gpt-4o","stream":true,"messages":' + b"[" * 100_000,
        b'{"model":"gpt-4o","stream":true,"stream_options":' + b'{"a":' * 50_000 + b"}" * 50_001,
    ],
    ids=["deep-list", "deep-unclosed", "deep-stream-options"],
)
async def test_a_body_too_deep_to_parse_is_forwarded_unchanged(raw: Raw, body: bytes) -> None:
    raw.upstream.answer_stream(
        [_sse({"choices": [{"delta": {"content": "hi"}}]}), b"data: [DONE]\n\n"]
    )
    head = POST_CHAT
    status, _, answer = await raw.send(head + b"\r\nContent-Length: %d" % len(body), body)
    assert status == 200 and b"[DONE]" in answer
    (seen,) = raw.upstream.requests
    assert seen.body == body
    (capture,) = await raw.captured()
    assert capture.usage_injected is False and capture.status == 200
    assert capture.request_body == body


# 2. Memory: a body the usage option cannot apply to is streamed, not read whole.


async def test_a_json_body_over_the_inject_limit_is_streamed_as_sent(raw: Raw) -> None:
    filler = b"lorem ipsum " * (INJECT_LIMIT // 12 + 100)
    body = b'{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"%s"}]}' % filler
    head = POST_CHAT
    status, _, _ = await raw.send(head + b"\r\nContent-Length: %d" % len(body), body)
    assert status == 200
    assert raw.upstream.requests[0].body == body  # no option spliced in
    (capture,) = await raw.captured()
    assert capture.usage_injected is False
    assert capture.request_size == len(body) and capture.request_body == body


async def test_a_small_stream_request_still_gets_the_option(raw: Raw) -> None:
    body = b'{"model":"gpt-4o","stream":true,"messages":[]}'
    head = POST_CHAT
    await raw.send(head + b"\r\nContent-Length: %d" % len(body), body)
    sent = raw.upstream.requests[0]
    assert json.loads(sent.body)["stream_options"] == {"include_usage": True}
    assert sent.header(b"content-length") == str(len(sent.body)).encode()
    assert (await raw.captured())[0].request_body == body  # the app's own body is the inputs


def test_the_capture_keeps_the_buffer_it_is_given() -> None:
    capture = Capture("c", "POST", "/v1/chat/completions", "", 0.0, 0.0, [], None, 100)  # type: ignore[arg-type]
    body = bytearray(b"x" * 60)
    capture.add_request(body)
    assert capture.request_body is body  # kept, not copied
    capture.add_request(b"y" * 60)
    assert capture.request_body == b"x" * 60 + b"y" * 40 and capture.request_truncated
    assert capture.request_size == 120
    streamed = Capture("c", "POST", "/v1/files", "", 0.0, 0.0, [], None, 100)  # type: ignore[arg-type]
    for piece in (b"a" * 30, b"b" * 30, b"c" * 30):
        streamed.add_request(piece, 50)
    assert streamed.request_body == b"a" * 30 + b"b" * 20 and streamed.request_size == 90


# 3. A huge event is relayed as it arrives and reaches the client intact.


async def test_a_20_mb_event_reaches_the_client_as_it_would_without_the_option(raw: Raw) -> None:
    content = "é" * (10 * 1024 * 1024)  # 20 MiB of UTF-8
    base = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    role = {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
    big = {**base, "choices": [{"index": 0, "delta": {"content": content}}]}
    stop = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    usage = {**base, "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 9}}
    events = [_sse({**e, "usage": None}) for e in (role, big, stop)] + [_sse(usage)]
    stream = b"".join(events) + b"data: [DONE]\n\n"
    pieces = [stream[i : i + 65536] for i in range(0, len(stream), 65536)]
    raw.upstream.answer_stream(pieces)
    body = b'{"model":"m","stream":true,"messages":[]}'
    async with aiohttp.ClientSession() as session:
        async with session.post(
            raw.servers.base_url + "/chat/completions",
            data=body,
            headers={"Content-Type": "application/json"},
        ) as resp:
            got = await resp.read()
            call_id = resp.headers["Wiretrace-Call-Id"]
    want = b"".join(_sse(e) for e in (role, big, stop)) + b"data: [DONE]\n\n"
    assert got == want
    # Over the 16 MiB cap: the record keeps the head and the stream's end (capture.tail).
    record = await asyncio.to_thread(raw.servers.record, call_id)
    output: Any = record.output
    assert output["choices"][0]["finish_reason"] == "stop"
    assert record.usage is not None and record.usage.completion_tokens == 9
    response: Any = record.attributes["response"]
    assert record.usage_source == "injected" and response["truncated"] is True


# 4. Targets: nothing leaves /v1, and what is forwarded arrives byte for byte.


@pytest.mark.parametrize(
    "target",
    [
        b"/v1/../api/calls",
        b"/v1/%2e%2e/%2e%2e/admin",
        b"/v1/%2E%2e/admin",
        b"/v1/.%2E/admin",
        b"/v1/chat/../../admin?x=1",
        b"/v1/./models",
        b"/v1/%2e/models",
        b"/v1/models/..",
        b"/v1/..%2fadmin",
        b"/v1/..%5Cadmin",
        b"/v1/..\\admin",
    ],
)
async def test_dot_segments_are_refused_and_recorded(raw: Raw, target: bytes) -> None:
    status, head, body = await raw.send(b"GET " + target + b" HTTP/1.1\r\nHost: localhost")
    assert status == 400
    error = json.loads(body)["error"]
    path = target.decode().partition("?")[0]
    assert repr(path) in error["message"] and error["code"] == "invalid_path"
    assert error["type"] == "invalid_request_error"
    assert raw.upstream.requests == []
    records = await asyncio.to_thread(raw.servers.records)
    (rec,) = records
    assert rec.http_status == 400 and rec.status == "error"
    assert rec.error is not None and rec.error["type"] == "invalid_path"
    assert b"wiretrace-call-id: " + rec.id.encode() in head.lower()


@pytest.mark.parametrize(
    "line",
    [
        b"GET http://127.0.0.1:9141/v1/models HTTP/1.1",
        b"GET http://localhost/v1/../admin HTTP/1.1",
    ],
)
async def test_absolute_form_is_refused(raw: Raw, line: bytes) -> None:
    status, _, body = await raw.send(line + b"\r\nHost: localhost")
    assert status == 400 and "refused" in json.loads(body)["error"]["message"]
    assert raw.upstream.requests == []


@pytest.mark.parametrize(
    "line", [b"CONNECT 127.0.0.1:443 HTTP/1.1", b"CONNECT /v1/models HTTP/1.1"]
)
async def test_connect_never_reaches_the_upstream(raw: Raw, line: bytes) -> None:
    """aiohttp reads a CONNECT target as an authority, so no route (``/v1`` included)
    matches it: a 4xx from the app, and nothing forwarded."""
    status, _, _ = await raw.send(line + b"\r\nHost: 127.0.0.1:443")
    assert 400 <= status < 500
    assert raw.upstream.requests == []


@pytest.mark.parametrize(
    "target",
    [
        b"/v1/files/a%2fb\\c%41/content?x=%2f&y=a+b%20c&z=%2e%2e",
        b"/v1/models/ft:gpt-4o:org::abc.1",
        b"/v1/files/..abc/.x/x./%2e%2ex",
        b"/v1//models",
        b"/v1/models?a=%00&b=%ZZ&c=%C3%A9&d",
    ],
)
async def test_the_target_reaches_the_upstream_byte_for_byte(raw: Raw, target: bytes) -> None:
    status, _, _ = await raw.send(b"GET " + target + b" HTTP/1.1\r\nHost: localhost")
    assert status == 200
    assert raw.upstream.requests[0].line == b"GET " + target + b" HTTP/1.1"


# 5. Header text as sent.


async def test_utf8_header_values_are_read_as_utf8_and_forwarded_as_sent(raw: Raw) -> None:
    head = (
        b"GET /v1/models HTTP/1.1\r\nHost: localhost\r\nX-Note: caf\xc3\xa9 \xe2\x98\x95"
        b"\r\nWiretrace-Session-Id: caf\xc3\xa9\r\nX-Legacy: caf\xe9"
    )
    status, _, _ = await raw.send(head)
    assert status == 200
    seen = raw.upstream.requests[0]
    assert seen.header(b"x-note") == b"caf\xc3\xa9 \xe2\x98\x95"
    assert seen.header(b"wiretrace-session-id") is None
    (rec,) = await asyncio.to_thread(raw.servers.records)
    assert rec.session_id == "café"
    (capture,) = raw.captures
    assert ("X-Note", "café ☕") in capture.request_headers
    assert ("X-Legacy", "café") in capture.request_headers  # Latin-1, and named so:
    assert capture.headers_not_utf8 == ("X-Legacy",)


# 6. Requests aiohttp's parser refuses: counted, and no header value is logged.


async def test_parser_refusals_are_counted_and_never_log_a_value(
    raw: Raw, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = "Bearer " + KEY + "x" * 9000
    oversized = b"GET /v1/models HTTP/1.1\r\nHost: localhost\r\nAuthorization: " + token.encode()
    many = b"GET /v1/models HTTP/1.1\r\nHost: localhost" + b"".join(
        b"\r\nX-H%d: value-%d-%s" % (i, i, KEY.encode()) for i in range(200)
    )
    control = b"GET /v1/models HTTP/1.1\r\nHost: localhost\r\nX-Key: " + KEY.encode() + b"\x01z"
    long_line = (
        b"GET /v1/models?key=" + KEY.encode() + b"q" * 9000 + b" HTTP/1.1\r\nHost: localhost"
    )
    for head in (oversized, many, control, long_line):
        status, _, _ = await raw.send(head)
        assert status == 400
    async with aiohttp.ClientSession() as session:
        async with session.get(raw.servers.proxy_url + "/healthz") as resp:
            health = await resp.json()
    assert health["parser_refusals"] == 4
    assert {"status", "pending", "written", "dropped", "lost", "storage_errors"} <= set(health)
    assert health["status"] == "ok"
    assert raw.upstream.requests == []
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert KEY not in text and KEY[3:20] not in text and "value-1" not in text
    refused = [r for r in caplog.records if "refused a request" in r.getMessage()]
    assert len(refused) == 4 and all(r.exc_info is None for r in refused)
    assert any("longer than 8190 bytes" in r.getMessage() for r in refused)
