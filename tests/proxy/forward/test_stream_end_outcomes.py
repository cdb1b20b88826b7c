"""A call's status matches what the app saw, whatever order its close and the upstream's end
of body arrive in.

The sync ``openai`` client closes its connection as soon as it reads ``data: [DONE]``; when
the upstream ends its body a moment later, the server cancels the handler. The app got every
byte, so the record is ``ok``; only a stream cut before its end is ``cancelled`` (with the
partial output). Real clients (``openai.OpenAI``, ``openai.AsyncOpenAI``, the ``openai``
Node SDK) against the fake upstream on loopback, through a real wiretrace.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest

from tests.fakes.fake_streams import ANSWER
from tests.harness import Servers, fake_upstream_url, output
from tests.proxy.process import ServerProcess, get_call

KEY = "sk-proj-streamEnd00000000000000000000000000000000wxyz"
MESSAGES: list[Any] = [{"role": "user", "content": "Say hi"}]
LINGER = {"x-fake-scenario": "linger_0.05"}
"""The upstream pauses 50 ms between ``data: [DONE]`` and its end of body."""
REPEATS = 20
NODE_PROJECT = Path(__file__).resolve().parents[2] / "node"
"""tests/node: the npm project of the Node test clients (``npm ci`` by ``make unit``)."""


def _text(stream: Any) -> str:
    """The streamed answer as the app reads it (every chunk until the SDK stops)."""
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def _assert_ok_with_answer(record: Any) -> None:
    assert record.status == "ok", record.error
    assert record.error is None
    choice = output(record)["choices"][0]
    assert choice["message"]["content"] == ANSWER
    assert choice["finish_reason"] == "stop"


@pytest.fixture
def upstream() -> Iterator[str]:
    with fake_upstream_url() as url:
        yield url


def test_sync_client_closing_after_done_before_the_upstream_ends_is_ok(
    upstream: str, tmp_path: Path
) -> None:
    server = ServerProcess(upstream, tmp_path / "w.db")
    try:
        client = openai.OpenAI(api_key=KEY, base_url=server.url + "/v1", max_retries=0)
        ids: list[str] = []
        for i in range(REPEATS):
            raw = client.chat.completions.with_raw_response.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": f"call {i}"}],
                stream=True,
                extra_headers=LINGER,
            )
            ids.append(raw.headers["Wiretrace-Call-Id"])
            assert _text(raw.parse()) == ANSWER
        client.close()
        records: list[Any] = [get_call(server.url, call_id) for call_id in ids]
    finally:
        server.stop()
    assert [r["status"] for r in records] == ["ok"] * REPEATS, [r["error"] for r in records]
    for record in records:
        assert record["error"] is None
        choice = record["output"]["choices"][0]
        assert choice["message"]["content"] == ANSWER and choice["finish_reason"] == "stop"
    # The client's close raced the upstream's end and won (on a loaded machine it may now and
    # then lose: the call then simply finished); those records say so.
    closed = [r["attributes"].get("client_closed_after_end") for r in records]
    assert set(closed) <= {None, True} and True in closed, closed


def test_sync_client_closing_at_done_while_the_upstream_holds_its_end_is_ok(
    servers: Servers,
) -> None:
    """The same ordering made certain: the upstream ends its body only after the record."""
    client = openai.OpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        stream=True,
        extra_headers={"x-fake-scenario": "hold_end"},
    )
    assert _text(stream) == ANSWER
    (record,) = servers.records()  # the server cancelled the call when the client left
    client.close()
    _assert_ok_with_answer(record)
    assert record.attributes["client_closed_after_end"] is True
    assert record.usage_source == "injected"


def test_sync_client_that_asked_for_usage_closing_after_done_is_ok(servers: Servers) -> None:
    """The app's own ``include_usage``: the stream is relayed as it is, no usage filter."""
    client = openai.OpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    for _ in range(5):
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
            extra_headers=LINGER,
        )
        assert _text(stream) == ANSWER
    client.close()
    records = servers.records()
    assert len(records) == 5
    for record in records:
        _assert_ok_with_answer(record)
        assert record.usage_source == "upstream"


async def _read_to_marker_then_close(url: str, body: dict[str, Any], marker: bytes) -> str:
    """Read a stream until the event holding ``marker`` is whole, then drop the connection
    (what the sync ``openai`` client does at ``[DONE]``), while the upstream holds its end
    of body back until the test releases it; the call's id."""
    received = b""
    headers = {"Authorization": f"Bearer {KEY}", "x-fake-scenario": "hold_end"}
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=body, headers=headers) as resp:
            async for line in resp.content:
                received += line
                if marker in received and received.endswith(b"\n\n"):
                    break
            resp.close()
            assert marker in received
            return resp.headers["Wiretrace-Call-Id"]


async def test_client_closing_at_response_completed_is_ok(servers: Servers) -> None:
    body = {"model": "gpt-4o-mini", "input": "Say hi", "stream": True}
    call_id = await _read_to_marker_then_close(
        servers.base_url + "/responses", body, b'"type":"response.completed"'
    )
    record = await asyncio.to_thread(servers.record, call_id)
    assert record.status == "ok", record.error
    assert output(record)["status"] == "completed"
    assert output(record)["output"][0]["content"][0]["text"] == ANSWER
    assert record.attributes["client_closed_after_end"] is True


async def test_client_closing_at_done_is_ok(servers: Servers) -> None:
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True}
    call_id = await _read_to_marker_then_close(
        servers.base_url + "/chat/completions", body, b"data: [DONE]"
    )
    record = await asyncio.to_thread(servers.record, call_id)
    _assert_ok_with_answer(record)
    assert record.attributes["client_closed_after_end"] is True


async def test_async_client_with_a_lingering_upstream_is_ok(servers: Servers) -> None:
    client = openai.AsyncOpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    for _ in range(3):
        stream = await client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True, extra_headers=LINGER
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        assert text == ANSWER
    await client.close()
    records = await asyncio.to_thread(servers.records)
    assert len(records) == 3
    for record in records:
        _assert_ok_with_answer(record)


def test_sync_responses_stream_closed_at_response_completed_is_ok(servers: Servers) -> None:
    client = openai.OpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    with client.responses.create(
        model="gpt-4o-mini", input="Say hi", stream=True, extra_headers=LINGER
    ) as stream:
        for event in stream:
            if event.type == "response.completed":
                break  # the app has its answer and stops reading
    client.close()
    (record,) = servers.records()
    assert record.status == "ok", record.error
    assert output(record)["status"] == "completed"
    assert output(record)["output"][0]["content"][0]["text"] == ANSWER


def test_upstream_end_first_then_client_close_is_ok(servers: Servers) -> None:
    client = openai.OpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    chunks = iter(stream)
    pieces: list[str] = []
    for chunk in chunks:
        pieces.append(chunk.choices[0].delta.content or "")
        if chunk.choices[0].finish_reason:
            break
    servers.wait(servers.fake.stream_closed)
    servers.flush()  # the proxy has relayed the upstream's end and finished the call
    pieces += [c.choices[0].delta.content or "" for c in chunks]  # [DONE]: the client closes
    client.close()
    assert "".join(pieces) == ANSWER
    (record,) = servers.records()
    _assert_ok_with_answer(record)
    assert "client_closed_after_end" not in record.attributes


@pytest.mark.parametrize("close_at", [1, 2])
def test_sync_client_closing_mid_stream_is_cancelled_with_the_partial_output(
    servers: Servers, close_at: int
) -> None:
    client = openai.OpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        stream=True,
        extra_headers={"x-fake-scenario": "hold"},  # the upstream stops after two events
    )
    received = ""
    for index, chunk in enumerate(stream):
        received += chunk.choices[0].delta.content or ""
        if index + 1 == close_at:
            break
    stream.close()  # the app gives up mid-stream
    servers.wait(servers.fake.stream_closed)
    client.close()
    (record,) = servers.records()
    assert record.status == "cancelled"
    assert record.error is not None and record.error["message"] == "the request was cancelled"
    choice = output(record)["choices"][0]
    assert choice["finish_reason"] is None
    assert ANSWER.startswith(choice["message"]["content"])
    assert choice["message"]["content"] != ANSWER
    assert received == choice["message"]["content"][: len(received)]


async def test_async_client_closing_mid_stream_is_cancelled_with_the_partial_output(
    servers: Servers,
) -> None:
    client = openai.AsyncOpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    stream = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        stream=True,
        extra_headers={"x-fake-scenario": "hold"},
    )
    async for _chunk in stream:
        break
    await stream.close()
    await asyncio.to_thread(servers.wait, servers.fake.stream_closed)
    await client.close()
    (record,) = await asyncio.to_thread(servers.records)
    assert record.status == "cancelled"
    choice = output(record)["choices"][0]
    assert choice["finish_reason"] is None and choice["message"]["content"] != ANSWER


def test_sync_non_streamed_body_delivered_then_client_close_is_ok(servers: Servers) -> None:
    client = openai.OpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    for _ in range(5):
        got = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        assert got.choices[0].message.content == ANSWER
    client.close()  # the pooled connection goes once the bodies are in
    records = servers.records()
    assert len(records) == 5
    for record in records:
        _assert_ok_with_answer(record)


async def test_async_non_streamed_body_delivered_then_client_close_is_ok(
    servers: Servers,
) -> None:
    client = openai.AsyncOpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    got = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert got.choices[0].message.content == ANSWER
    await client.close()
    (record,) = await asyncio.to_thread(servers.records)
    _assert_ok_with_answer(record)


def test_raw_client_closing_as_soon_as_the_body_is_in_is_ok(servers: Servers) -> None:
    """A client that reads exactly Content-Length bytes and drops the connection at once."""
    host, port = servers.proxy_url.removeprefix("http://").split(":")
    body = json.dumps({"model": "gpt-4o-mini", "messages": MESSAGES}).encode()
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head + body)
        received = b""
        while b"\r\n\r\n" not in received:
            received += sock.recv(65536)
        headers, _, content = received.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in headers.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(content) < length:
            content += sock.recv(65536)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    assert json.loads(content)["choices"][0]["message"]["content"] == ANSWER
    (record,) = servers.records()
    _assert_ok_with_answer(record)


def test_node_openai_sdk_stream_with_a_lingering_upstream_is_ok(servers: Servers) -> None:
    node = shutil.which("node")
    assert node, "node is installed by .ci/run"
    assert (NODE_PROJECT / "node_modules" / "openai").is_dir(), "make unit runs npm ci there"
    out = subprocess.run(
        [node, str(NODE_PROJECT / "chat_stream.mjs"), servers.base_url, "linger_0.05"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    result = json.loads(out)
    assert result["content"] == ANSWER
    _assert_ok_with_answer(servers.record(result["id"]))
