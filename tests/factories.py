"""Test data in one place: ``make_capture`` (what ``forward`` hands the writer) and
``make_record`` (what the recorder hands storage), like mitmproxy's ``tflow``.

Both build complete, realistic values with keyword overrides, so a table-driven test says
only what it varies. ``make_capture`` fills a ``Capture`` through its own methods
(``add_request``, ``start_response``, ``add_chunk``, ``finish``), as the handler does.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from wiretrace_proxy.callrecord import JSON, CallRecord, Usage
from wiretrace_proxy.forward.capture import Capture, Outcome, RequestMeta

__all__ = ["T0", "chat_request", "chat_stream", "make_capture", "make_record"]

T0 = datetime(2024, 6, 1, 12, 0, 0, 123456, tzinfo=UTC)
"""A fixed start time (with microseconds, to catch lossy time storage)."""

KEY = "sk-proj-factory0000000000000000000000000000000000000000"
"""The API key every capture sends (it must never reach a record)."""


def chat_request(content: str = "hi", *, stream: bool = False, **params: JSON) -> bytes:
    """A chat completions request body."""
    body: dict[str, JSON] = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": content},
        ],
        **params,
    }
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()


def chat_stream(
    pieces: Sequence[str] = ("Hel", "lo"),
    *,
    finish: str | None = "stop",
    usage: dict[str, int] | None = None,
    done: bool = True,
) -> list[bytes]:
    """SSE chunks of a chat completions stream, one event per chunk."""

    def event(delta: dict[str, Any], finish_reason: str | None) -> bytes:
        chunk = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1717243200,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }
        return f"data: {json.dumps(chunk)}\n\n".encode()

    chunks = [event({"role": "assistant", "content": ""}, None)]
    chunks += [event({"content": piece}, None) for piece in pieces]
    if finish is not None:
        chunks.append(event({}, finish))
    if usage is not None:
        tail = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1717243200,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [],
            "usage": usage,
        }
        chunks.append(f"data: {json.dumps(tail)}\n\n".encode())
    if done:
        chunks.append(b"data: [DONE]\n\n")
    return chunks


def _chat_response(content: str = "Hello") -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1717243200,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10},
        }
    ).encode()


def make_capture(
    n: int = 1,
    *,
    method: str = "POST",
    path: str = "/v1/chat/completions",
    query: str = "",
    request: bytes | None = None,
    request_headers: Sequence[tuple[str, str]] | None = None,
    meta: RequestMeta | None = None,
    status: int | None = 200,
    response_headers: Sequence[tuple[str, str]] | None = None,
    chunks: Sequence[bytes] | None = None,
    stream: bool = False,
    outcome: Outcome | None = "ok",
    error: tuple[str, str] | None = None,
    wall: float | None = None,
    max_body_bytes: int = 1024 * 1024,
    upstream_wait: float = 0.0,
    usage_injected: bool = False,
) -> Capture:
    """A finished capture of call number ``n`` (its id is ``n`` as 16 hex digits).

    By default a plain chat completion answered 200 with JSON; ``stream=True`` makes it an
    SSE stream (``chat_stream()``). ``status=None`` means no response arrived; ``outcome``
    None leaves the capture unfinished; ``error`` is ``(type, message)`` for the outcome.
    """
    if request is None:
        request = chat_request(stream=stream)
    if request_headers is None:
        request_headers = [
            ("Authorization", f"Bearer {KEY}"),
            ("Content-Type", "application/json"),
        ]
    if response_headers is None:
        kind = "text/event-stream" if stream else "application/json"
        response_headers = [("Content-Type", kind)]
    if chunks is None:
        chunks = chat_stream() if stream else [_chat_response()]
    capture = Capture(
        call_id=f"{n:016x}",
        method=method,
        path=path,
        query=query,
        started_wall=time.time() if wall is None else wall,
        t0=time.perf_counter(),
        request_headers=list(request_headers),
        meta=meta if meta is not None else RequestMeta(),
        max_body_bytes=max_body_bytes,
    )
    capture.usage_injected = usage_injected
    capture.add_request(request)
    if status is not None:
        capture.start_response(status, list(response_headers))
        for chunk in chunks:
            capture.add_chunk(chunk)
    capture.upstream_wait = upstream_wait
    if outcome is not None:
        if error is None:
            capture.finish(outcome)
        else:
            capture.finish(outcome, *error)
    return capture


def make_record(n: int = 1, **changes: Any) -> CallRecord:
    """A stored-looking chat completion record of call ``n``, with ``changes`` applied.

    Call ``n`` starts ``n`` seconds after ``T0``, in trace ``n`` (as 32 hex digits).
    """
    record = CallRecord(
        id=f"{n:016x}",
        project="p",
        trace_id=f"{n:032x}",
        op_name="openai.chat.completions.create",
        started_at=T0 + timedelta(seconds=n),
        status="ok",
        ended_at=T0 + timedelta(seconds=n, milliseconds=250),
        latency_ms=250.0,
        ttft_ms=40.5,
        overhead_ms=0.8,
        http_status=200,
        model="gpt-4o-mini",
        response_model="gpt-4o-mini-2024-07-18",
        inputs={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        output={"object": "chat.completion", "choices": []},
        usage=Usage(prompt_tokens=5, completion_tokens=7, total_tokens=12),
        usage_source="upstream",
        cost_usd=0.00012,
    )
    return dataclasses.replace(record, **changes)
