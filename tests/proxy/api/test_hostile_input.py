"""Hostile input to the JSON API and the recorder: every attack gets a clear 4xx or a valid
record, never a 500, a forged record or invalid JSON out.

A real server (``tests.harness``), real ``aiohttp`` and ``openai`` clients; answers are read
with a JSON parser that refuses ``NaN`` and ``Infinity``, as a browser's does.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest
import sqlalchemy as sa
from wiretrace_proxy.api import feedback, spans
from wiretrace_proxy.appkeys import ENGINE, UPSTREAM

from tests.fakes.upstream import RawUpstream
from tests.harness import Servers

TRACE = "1234567890abcdef1234567890abcdef"
KEY = "sk-proj-SECRETsecretSECRET1234567890wxyz"


def strict_json(text: str) -> Any:
    """``json.loads`` that refuses ``NaN``/``Infinity``, as JSON and browsers do."""

    def refuse(name: str) -> None:
        raise AssertionError(f"invalid JSON: {name} in {text[:200]!r}")

    return json.loads(text, parse_constant=refuse)


def span(span_id: str, **kw: Any) -> dict[str, Any]:
    return {
        "id": span_id,
        "trace_id": TRACE,
        "parent_id": None,
        "op_name": "step",
        "started_at": "2026-01-01T00:00:00Z",
        "ended_at": "2026-01-01T00:00:01Z",
        "status": "ok",
        "inputs": {"x": 1},
        "output": "done",
        "attributes": {},
        **kw,
    }


async def send(
    url: str, method: str, path: str, body: bytes | AsyncIterator[bytes] | None = None
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session:
        async with session.request(method, url + path, data=body, headers=headers) as resp:
            answer = resp.status, strict_json(await resp.text())
            if resp.connection is not None and resp.connection.transport is not None:
                # An upload the server cut short (413) leaves unsent bytes: a transport
                # that would only close at garbage collection (a ResourceWarning later).
                resp.connection.transport.abort()
    await asyncio.sleep(0)  # let the aborted transport's connection_lost run
    return answer


async def post_spans(url: str, body: Any) -> tuple[int, Any]:
    """``body`` as Python's ``json.dumps`` writes it: ``NaN`` included, as an SDK might."""
    return await send(url, "POST", "/api/spans", json.dumps(body).encode())


async def proxied_call(servers: Servers) -> str:
    client = openai.AsyncOpenAI(api_key="sk-x", base_url=servers.base_url)
    response = await client.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
    )
    await client.close()
    await asyncio.to_thread(servers.flush)
    return response.headers["wiretrace-call-id"]


# --- 1. records cannot be forged ---------------------------------------------------------


async def test_a_span_cannot_overwrite_a_proxied_call(servers: Servers) -> None:
    call_id = await proxied_call(servers)
    _, before = await send(servers.proxy_url, "GET", f"/api/calls/{call_id}")
    forged = span(call_id, op_name="forged", status="error", inputs={"evil": True})
    honest = span("a" * 16)
    status, body = await post_spans(servers.proxy_url, {"spans": [honest, forged]})
    assert status == 409
    assert body["refused"] == [call_id] and body["accepted"] == 1
    assert body["error"]["param"] == "spans[1].id" and call_id in body["error"]["message"]
    _, after = await send(servers.proxy_url, "GET", f"/api/calls/{call_id}")
    assert after == before  # op, status, kind, inputs, output, start time: all unchanged
    assert after["kind"] == "llm" and after["op_name"] == "openai.chat.completions.create"
    status, stored = await send(servers.proxy_url, "GET", "/api/calls/" + "a" * 16)
    assert status == 200 and stored["kind"] == "op"  # the honest span was stored


async def test_a_span_cannot_overwrite_another_projects_span(servers: Servers) -> None:
    mine = span("b" * 16, project="alpha", output="mine")
    assert (await post_spans(servers.proxy_url, {"spans": [mine]}))[0] == 200
    theirs = span("b" * 16, project="beta", output="theirs")
    status, body = await post_spans(servers.proxy_url, {"spans": [theirs]})
    assert status == 409 and body["refused"] == ["b" * 16] and body["accepted"] == 0
    _, stored = await send(servers.proxy_url, "GET", "/api/calls/" + "b" * 16)
    assert stored["project"] == "alpha" and stored["output"] == "mine"
    # the same span's start after its end still merges
    start = span("b" * 16, project="alpha", status="running", ended_at=None, output=None)
    assert (await post_spans(servers.proxy_url, {"spans": [start]}))[0] == 200
    _, stored = await send(servers.proxy_url, "GET", "/api/calls/" + "b" * 16)
    assert stored["status"] == "ok" and stored["output"] == "mine"


# --- 2. span secrets are masked ----------------------------------------------------------


async def test_span_secrets_are_masked(servers: Servers) -> None:
    event = span(
        "c" * 16,
        inputs={"api_key": KEY},
        output={"echo": f"key is {KEY}"},
        attributes={"auth": KEY},
        error={"type": "E", "message": f"bad key {KEY}", "traceback": KEY},
    )
    assert (await post_spans(servers.proxy_url, {"spans": [event]}))[0] == 200
    status, stored = await send(servers.proxy_url, "GET", "/api/calls/" + "c" * 16)
    assert status == 200
    assert KEY not in json.dumps(stored)
    assert set(stored["inputs"]) == {"api_key"} and stored["error"]["type"] == "E"


# --- 3. valid JSON out, always -----------------------------------------------------------


async def test_nan_in_span_attributes_breaks_no_filter(servers: Servers) -> None:
    event = span(
        "d" * 16,
        inputs={"score": float("nan")},
        output=[float("inf"), float("-inf")],
        attributes={"properties": {"team": "red"}, "loss": float("nan")},
    )
    assert (await post_spans(servers.proxy_url, {"spans": [event]}))[0] == 200
    url = servers.proxy_url
    status, stored = await send(url, "GET", "/api/calls/" + "d" * 16)
    assert status == 200
    assert stored["inputs"] == {"score": "NaN"} and stored["output"] == ["Infinity", "-Infinity"]
    assert stored["attributes"]["loss"] == "NaN"
    assert stored["attributes"]["nonfinite"] == ["inputs", "output", "attributes"]
    status, listed = await send(url, "GET", "/api/calls?property.team=red")
    assert status == 200 and [c["id"] for c in listed["calls"]] == ["d" * 16]
    status, stats = await send(url, "GET", "/api/stats?group_by=property.team")
    assert status == 200 and [g["key"] for g in stats["groups"]] == ["red"]


@pytest.fixture
def raw(tmp_path: Path) -> Iterator[tuple[Servers, RawUpstream]]:
    servers = Servers(f"sqlite:///{tmp_path / 'wiretrace.db'}", key_salt="test-salt")
    upstream = RawUpstream()
    try:
        servers.app[UPSTREAM].base_url = servers.thread.call(upstream.start())
        yield servers, upstream
    finally:
        servers.thread.call(upstream.stop())
        servers.close()


def answer(upstream: RawUpstream, body: bytes) -> None:
    upstream.response_head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    upstream.response_body = [body]


def test_nan_logprobs_from_an_upstream_are_stored_valid(
    raw: tuple[Servers, RawUpstream],
) -> None:
    servers, upstream = raw
    answer(
        upstream,
        b'{"id": "x", "object": "chat.completion", "model": "local", "choices": [{"index": 0,'
        b' "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop",'
        b' "logprobs": {"content": [{"token": "hi", "logprob": -Infinity, "bytes": null,'
        b' "top_logprobs": [{"token": "hi", "logprob": NaN}]}]}}],'
        b' "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}',
    )
    client = openai.OpenAI(api_key="sk-x", base_url=servers.base_url)
    response = client.chat.completions.with_raw_response.create(
        model="local", messages=[{"role": "user", "content": "hi"}], logprobs=True
    )
    call_id = response.headers["wiretrace-call-id"]
    servers.flush()
    status, stored = servers.thread.call(send(servers.proxy_url, "GET", f"/api/calls/{call_id}"))
    assert status == 200 and stored["status"] == "ok"
    content = stored["output"]["choices"][0]["logprobs"]["content"][0]
    assert content["logprob"] == "-Infinity" and content["top_logprobs"][0]["logprob"] == "NaN"
    status, listed = servers.thread.call(send(servers.proxy_url, "GET", "/api/calls"))
    assert status == 200 and listed["calls"][0]["id"] == call_id


async def test_rows_an_older_version_wrote_with_nan_are_served_valid(servers: Servers) -> None:
    assert (await post_spans(servers.proxy_url, {"spans": [span("e" * 16)]}))[0] == 200
    engine = servers.app[ENGINE]

    def write_nan() -> None:  # as the serializer before allow_nan=False stored it
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE calls SET output = :v, attributes = :a WHERE id = :id"),
                {"v": '{"p": NaN, "q": [Infinity, -Infinity]}', "a": '{"x": NaN}', "id": "e" * 16},
            )

    await asyncio.to_thread(write_nan)
    url = servers.proxy_url
    status, one = await send(url, "GET", "/api/calls/" + "e" * 16)
    assert status == 200 and one["output"] == {"p": "NaN", "q": ["Infinity", "-Infinity"]}
    status, listed = await send(url, "GET", "/api/calls")
    assert status == 200 and listed["calls"][0]["attributes"] == {"x": "NaN"}
    status, tree = await send(url, "GET", f"/api/traces/{TRACE}")
    assert status == 200 and tree["roots"][0]["output"]["p"] == "NaN"
    async with aiohttp.ClientSession() as session:
        async with session.get(url + "/api/calls/export?format=jsonl") as resp:
            lines = (await resp.text()).splitlines()
    assert [strict_json(line)["output"]["p"] for line in lines] == ["NaN"]


# --- 4. bad input is a 400 (or 413) naming it --------------------------------------------


def deep_attributes(levels: int) -> bytes:
    event = json.dumps({"spans": [span("f" * 16, attributes={"a": "X"})]})
    return event.replace('"X"', '{"a": ' * (levels - 1) + "1" + "}" * (levels - 1)).encode()


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "body"),
        (deep_attributes(5000), "body"),  # deeper than any JSON parser here follows
        (deep_attributes(300), "spans[0].attributes"),  # parses, but over MAX_DEPTH
        (
            json.dumps({"spans": [span("f" * 16, inputs={"text": "\ud800"})]}).encode(),
            "spans[0].inputs",
        ),
        (
            json.dumps({"spans": [span("f" * 16, op_name="bad\ud800")]}).encode(),
            "spans[0].op_name",
        ),
    ],
    ids=[
        "100k-deep",
        "5000-deep-attributes",
        "300-deep-attributes",
        "lone-surrogate",
        "surrogate-op-name",
    ],
)
async def test_unreadable_spans_are_a_400_naming_the_field(
    servers: Servers, body: bytes, param: str
) -> None:
    status, answer = await send(servers.proxy_url, "POST", "/api/spans", body)
    assert status == 400 and answer["error"]["param"] == param, answer
    if param == "body":
        assert "nested too deep" in answer["error"]["message"]
    elif param == "spans[0].attributes":
        assert "deeper than 256 levels" in answer["error"]["message"]


async def chunks(size: int, total: int) -> AsyncIterator[bytes]:
    yield b'{"spans": ["'
    for _ in range(total // size):
        yield b"x" * size


@pytest.mark.parametrize(
    ("module", "path"),
    [(spans, "/api/spans"), (feedback, "/api/calls/" + "0" * 16 + "/feedback")],
)
async def test_a_chunked_body_over_the_cap_is_a_413(
    servers: Servers, monkeypatch: pytest.MonkeyPatch, module: Any, path: str
) -> None:
    monkeypatch.setattr(module, "MAX_BODY", 256 * 1024)
    status, answer = await send(servers.proxy_url, "POST", path, chunks(64 * 1024, 4 * 1024**2))
    assert status == 413 and answer["error"]["param"] == "body"
    assert "larger than 262144 bytes" in answer["error"]["message"]


@pytest.mark.parametrize(
    ("sort", "value", "call_id"),
    [
        ("-total_tokens", "1" + "0" * 30, '"a"'),
        ("-latency_ms", "1e400", '"a"'),
        ("-latency_ms", "1" + "0" * 400, '"a"'),
        ("-latency_ms", "NaN", '"a"'),
        ("-latency_ms", "-Infinity", '"a"'),
        ("-started_at", "[" * 3000 + "]" * 3000, '"a"'),
        ("-started_at", '"2026-01-01T00:00:00+00:00"', '"\\ud800"'),
    ],
    ids=["10^30", "1e400", "10^400", "nan", "-inf", "3000-deep", "surrogate-id"],
)
async def test_hostile_cursors_are_a_400(
    servers: Servers, sort: str, value: str, call_id: str
) -> None:
    raw = f'{{"s": "{sort}", "v": {value}, "id": {call_id}}}'.encode()
    text = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    status, answer = await send(servers.proxy_url, "GET", f"/api/calls?sort={sort}&cursor={text}")
    assert status == 400 and answer["error"]["param"] == "cursor", answer


def test_a_too_deep_request_body_is_recorded_raw_with_its_status(
    raw: tuple[Servers, RawUpstream],
) -> None:
    servers, upstream = raw
    answer(upstream, b'{"ok": true}')
    deep = b'{"model": "gpt-4o", "messages": ' + b"[" * 2000 + b"]" * 2000 + b"}"
    status, head = servers.thread.call(_post_raw(servers, deep))
    assert status == 200
    call_id = next(
        line.split(b":", 1)[1].strip().decode()
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"wiretrace-call-id:")
    )
    servers.flush()
    record = servers.record(call_id)
    assert record.status == "ok" and record.http_status == 200
    assert isinstance(record.inputs, dict) and "nested too deep" in str(
        record.inputs["parse_error"]
    )
    assert str(record.inputs["raw"]).startswith('{"model": "gpt-4o"')


async def _post_raw(servers: Servers, body: bytes) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            servers.base_url + "/chat/completions",
            data=body,
            headers={"Content-Type": "application/json", "Authorization": "Bearer sk-x"},
        ) as resp:
            await resp.read()
            head = b"\r\n".join(f"{k}: {v}".encode() for k, v in resp.headers.items())
            return resp.status, head


# --- 5. token counts are validated -------------------------------------------------------


def test_negative_and_absurd_token_counts_are_not_stored(
    raw: tuple[Servers, RawUpstream],
) -> None:
    servers, upstream = raw
    answer(
        upstream,
        b'{"id": "x", "object": "chat.completion", "model": "gpt-4o", "choices": [{"index": 0,'
        b' "message": {"role": "assistant", "content": "hello there"}, "finish_reason": "stop"}],'
        b' "usage": {"prompt_tokens": -5, "completion_tokens": 1e30,'
        b' "total_tokens": 100000000000000000000000000000}}',
    )
    client = openai.OpenAI(api_key="sk-x", base_url=servers.base_url)
    response = client.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
    )
    servers.flush()
    record = servers.record(response.headers["wiretrace-call-id"])
    assert record.status == "ok"
    assert record.usage_source == "estimated"  # the upstream's counts were unusable
    assert record.usage is not None and record.usage.prompt_tokens is not None
    assert 0 < record.usage.prompt_tokens < 100 and 0 < (record.usage.total_tokens or 0) < 100
