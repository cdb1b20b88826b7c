"""record.outcome: a call the client closed after the response's end is not ``cancelled``.

Each case is a capture as the handler leaves it when the server cancels it (what it received,
how much of it the client was handed, whether the upstream's body had ended) and the record
fields a user would look at; a stream cut before its end stays cancelled with its partial
output.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from typing import Any

import pytest
from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.forward.capture import Capture
from wiretrace_proxy.record.outcome import closed_after_end, delivered_stream, stream_ended
from wiretrace_proxy.record.recorder import Recorder
from wiretrace_proxy.settings import Settings

from tests.factories import chat_stream, make_capture

SSE = [("Content-Type", "text/event-stream")]
RESPONSES_REQUEST = b'{"model": "gpt-4o-mini", "input": "hi", "stream": true}'


def cancelled(
    chunks: Sequence[bytes],
    *,
    delivered: int | None = None,
    upstream_ended: bool = False,
    path: str = "/v1/chat/completions",
    headers: Sequence[tuple[str, str]] = SSE,
    status: int = 200,
    max_body_bytes: int = 1024 * 1024,
    outcome: str = "cancelled",
) -> Capture:
    """A capture the server cancelled after the upstream sent ``chunks``, of which the
    client was handed the first ``delivered`` bytes (default: all)."""
    capture = make_capture(
        path=path,
        request=RESPONSES_REQUEST if "responses" in path else None,
        stream="text/event-stream" in str(headers),
        chunks=chunks,
        response_headers=headers,
        status=status,
        outcome=None,
        max_body_bytes=max_body_bytes,
    )
    capture.delivered_size = capture.response_size if delivered is None else delivered
    capture.upstream_ended = upstream_ended
    if outcome == "cancelled":
        capture.finish("cancelled", "cancelled", "the request was cancelled")
    else:
        capture.finish("error", "upstream_disconnected", "Connection reset by peer")
    return capture


def upto(chunks: Sequence[bytes], count: int) -> int:
    """Bytes in the first ``count`` chunks."""
    return sum(len(chunk) for chunk in chunks[:count])


def build(capture: Capture) -> CallRecord:
    return Recorder(Settings(project="default"), "test-salt").build(capture)


def content(record: CallRecord) -> Any:
    out: Any = record.output
    return out["choices"][0]["message"]["content"]


def responses_event(kind: str, named: bool = True, **fields: Any) -> bytes:
    data = json.dumps({"type": kind, **fields})
    return (f"event: {kind}\n" if named else "").encode() + f"data: {data}\n\n".encode()


def responses_stream(final: str = "response.completed", named: bool = True) -> list[bytes]:
    status = final.removeprefix("response.")
    response: dict[str, Any] = {
        "id": "resp_1",
        "object": "response",
        "status": status,
        "model": "gpt-4o-mini",
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Hello", "annotations": []}],
            }
        ],
        "usage": {"input_tokens": 3, "output_tokens": 1, "total_tokens": 4},
    }
    if final == "response.failed":
        response["error"] = {"code": "server_error", "message": "The model crashed."}
    partial = {**response, "status": "in_progress", "output": []}
    item = {"type": "message", "id": "msg_1", "role": "assistant", "content": []}
    return [
        responses_event("response.created", named, response=partial),
        responses_event("response.output_item.added", named, output_index=0, item=item),
        responses_event("response.output_text.delta", named, output_index=0, delta="Hel"),
        responses_event("response.output_text.delta", named, output_index=0, delta="lo"),
        responses_event(final, named, response=response),
    ]


# The sync openai client closes as soon as it reads [DONE], before the upstream's end.


def test_closed_after_done_before_the_upstream_ended_is_ok() -> None:
    record = build(cancelled(chat_stream()))
    assert record.status == "ok"
    assert record.error is None
    assert content(record) == "Hello"
    assert record.attributes["client_closed_after_end"] is True


def test_closed_after_the_upstream_ended_is_ok() -> None:
    """The upstream's end was read and everything relayed; the client left during the
    proxy's own end of response (``write_eof``)."""
    record = build(cancelled(chat_stream(finish=None, done=False), upstream_ended=True))
    assert record.status == "ok"
    assert record.attributes["client_closed_after_end"] is True


def test_closed_mid_stream_stays_cancelled_with_the_partial_output() -> None:
    received = chat_stream(pieces=("Hel", "lo", " there"))[:3]  # the client left here
    record = build(cancelled(received))
    assert record.status == "cancelled"
    assert record.error is not None and record.error["message"] == "the request was cancelled"
    assert "client_closed_after_end" not in record.attributes
    out: Any = record.output
    assert out["choices"][0]["finish_reason"] is None
    assert content(record) == "Hello"


def test_an_end_the_proxy_received_but_could_not_hand_over_does_not_count() -> None:
    """The client left; the upstream's [DONE] reached the proxy but never the client."""
    chunks = chat_stream(finish=None)
    record = build(cancelled(chunks, delivered=upto(chunks, len(chunks) - 1)))
    assert record.status == "cancelled"


def test_a_finish_reason_on_every_choice_is_an_end_without_done() -> None:
    chunks = chat_stream()
    assert chunks[-1] == b"data: [DONE]\n\n"
    record = build(cancelled(chunks, delivered=upto(chunks, len(chunks) - 1)))
    assert record.status == "ok"


def test_one_choice_finished_of_two_is_not_an_end() -> None:
    def event(index: int, finish: str | None) -> bytes:
        choice = {"index": index, "delta": {"content": "x"}, "finish_reason": finish}
        chunk = {"object": "chat.completion.chunk", "model": "m", "choices": [choice]}
        return f"data: {json.dumps(chunk)}\n\n".encode()

    chunks = [event(0, None), event(1, None), event(0, "stop"), event(1, "stop")]
    assert build(cancelled(chunks, delivered=upto(chunks, 3))).status == "cancelled"
    assert build(cancelled(chunks, delivered=upto(chunks, 4))).status == "ok"


def test_a_stream_error_then_done_is_an_error_not_a_cancel() -> None:
    error = b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n'
    chunks = [*chat_stream(finish=None, done=False), error, b"data: [DONE]\n\n"]
    record = build(cancelled(chunks))
    assert record.status == "error"
    assert record.error is not None and record.error["message"] == "overloaded"


@pytest.mark.parametrize("named", [True, False], ids=["event-lines", "type-only"])
@pytest.mark.parametrize(
    ("final", "status"),
    [
        ("response.completed", "ok"),
        ("response.incomplete", "ok"),
        ("response.failed", "error"),
    ],
)
def test_a_terminal_responses_event_is_an_end(final: str, status: str, named: bool) -> None:
    chunks = responses_stream(final, named)
    record = build(cancelled(chunks, path="/v1/responses"))
    assert record.status == status
    out: Any = record.output
    assert out["status"] == final.removeprefix("response.")
    assert out["output"][0]["content"][0]["text"] == "Hello"
    if status == "error":
        assert record.error is not None and record.error["message"] == "The model crashed."


def test_a_responses_stream_cut_before_its_final_event_stays_cancelled() -> None:
    chunks = responses_stream()
    record = build(cancelled(chunks, path="/v1/responses", delivered=upto(chunks, 4)))
    assert record.status == "cancelled"
    out: Any = record.output
    assert out["status"] == "completed"  # what the proxy received; the client never saw it


def test_an_assistants_done_event_is_an_end() -> None:
    chunks = [
        b'event: thread.run.created\ndata: {"object": "thread.run", "id": "run_1"}\n\n',
        b"event: done\ndata: [DONE]\n\n",
    ]
    record = build(cancelled(chunks, path="/v1/threads/t_1/runs"))
    assert record.status == "ok"


def test_a_non_streamed_body_handed_over_whole_is_ok() -> None:
    body = json.dumps(
        {"object": "chat.completion", "choices": [{"message": {"content": "Hi"}}]}
    ).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    pieces = [body[:10], body[10:]]
    record = build(cancelled(pieces, headers=headers))
    assert record.status == "ok"
    assert content(record) == "Hi"
    assert record.attributes["client_closed_after_end"] is True
    assert build(cancelled(pieces, headers=headers, delivered=10)).status == "cancelled"


def test_a_non_streamed_body_without_length_needs_the_upstreams_end() -> None:
    body = b'{"object": "chat.completion", "choices": []}'
    headers = [("Content-Type", "application/json")]
    assert build(cancelled([body], headers=headers)).status == "cancelled"
    assert build(cancelled([body], headers=headers, upstream_ended=True)).status == "ok"


def test_an_http_error_handed_over_whole_is_an_error() -> None:
    body = b'{"error": {"message": "bad model", "type": "invalid_request_error"}}'
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    record = build(cancelled([body], headers=headers, status=400))
    assert record.status == "error" and record.http_status == 400
    assert record.error is not None and record.error["message"] == "bad model"


def test_other_outcomes_are_left_alone() -> None:
    nothing = build(cancelled(chat_stream(), delivered=0))
    assert nothing.status == "cancelled"
    broken = build(cancelled(chat_stream(), upstream_ended=True, outcome="error"))
    assert broken.status == "error"
    assert broken.error is not None and broken.error["type"] == "upstream_disconnected"
    no_response = make_capture(status=None, outcome="cancelled", error=("cancelled", "x"))
    assert not closed_after_end(no_response, stream_complete=True)


def test_a_stream_over_the_cap_is_judged_on_its_kept_tail() -> None:
    """Over the body cap the head and the last 64 KiB are kept; the end is in the tail."""
    pieces = tuple(f"word{i} " for i in range(400))
    chunks = chat_stream(pieces=pieces)
    whole = cancelled(chunks, max_body_bytes=2048)
    assert whole.response_truncated
    assert build(whole).status == "ok"
    before_finish = cancelled(chunks, max_body_bytes=2048, delivered=upto(chunks, len(pieces)))
    assert build(before_finish).status == "cancelled"
    finish_only = cancelled(chunks, max_body_bytes=2048, delivered=upto(chunks, len(chunks) - 1))
    assert build(finish_only).status == "ok"


def test_a_compressed_stream_is_judged_on_its_decoded_delivered_part() -> None:
    body = gzip.compress(b"".join(chat_stream(finish=None)), mtime=0)
    headers = [*SSE, ("Content-Encoding", "gzip")]
    assert build(cancelled([body], headers=headers)).status == "ok"
    cut = cancelled([body], headers=headers, delivered=len(body) - 12)
    parts = delivered_stream(cut)
    assert parts is not None and b"[DONE]" not in b"".join(parts)
    assert build(cut).status == "cancelled"


def test_stream_ended_reads_events_not_bytes() -> None:
    chat = cancelled(chat_stream()).endpoint
    assert stream_ended(chat, [b"data: [DO", b"NE]\n\n"])
    assert not stream_ended(chat, [b'data: {"note": "[DONE]"}\n\n'])
    assert not stream_ended(chat, [b'data: {"type": ["response.completed"]}\n\n'])
