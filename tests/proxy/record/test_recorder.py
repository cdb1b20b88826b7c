"""The recorder: Capture -> CallRecord, table-driven over the captures forward can hand it.

docs/architecture.md, "The call record" and "Principles" (bad input is recorded raw, secrets
never stored). Each case is one ``make_capture`` and the fields a user would look at in the
UI; no server runs here.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.endpoints import GENERIC_OP
from wiretrace_proxy.forward.capture import Capture, RequestMeta
from wiretrace_proxy.record.recorder import Recorder
from wiretrace_proxy.record.redact import fingerprint_key
from wiretrace_proxy.settings import Settings

from tests.factories import KEY, chat_request, chat_stream, make_capture

SALT = "test-salt"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


@dataclass(frozen=True)
class Case:
    capture: Capture
    expect: dict[str, Any]
    """Record fields (dotted paths into ``to_api()``) and the value each must have."""
    absent: tuple[str, ...] = field(default=())
    """Strings that must appear nowhere in the record."""


def dig(record: CallRecord, path: str) -> Any:
    value: Any = record.to_api()
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def embeddings_body() -> bytes:
    return json.dumps(
        {
            "object": "list",
            "model": "text-embedding-3-small",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.1] * 1536}],
            "usage": {"prompt_tokens": 3, "total_tokens": 3},
        }
    ).encode()


CASES: dict[str, Case] = {
    "plain chat": Case(
        make_capture(),
        {
            "status": "ok",
            "op_name": "openai.chat.completions.create",
            "display_name": None,
            "model": "gpt-4o-mini",
            "response_model": "gpt-4o-mini-2024-07-18",
            "http_status": 200,
            "usage.prompt_tokens": 9,
            "usage_source": "upstream",
            "output.choices.0.message.content": "Hello",
            "inputs.messages.1.content": "hi",
            "attributes.stream": False,
            "ttft_ms": None,
            "key_fingerprint": fingerprint_key(KEY, SALT),
        },
        absent=(KEY,),
    ),
    "streamed chat, no usage in the stream: estimated": Case(
        make_capture(stream=True),
        {
            "status": "ok",
            "output.object": "chat.completion",
            "output.choices.0.message.content": "Hello",
            "output.choices.0.finish_reason": "stop",
            "attributes.stream": True,
            "usage_source": "estimated",
        },
    ),
    "streamed chat with a usage chunk the proxy asked for": Case(
        make_capture(
            stream=True,
            chunks=chat_stream(usage={"prompt_tokens": 4, "completion_tokens": 2}),
            usage_injected=True,
        ),
        {"usage.prompt_tokens": 4, "usage.completion_tokens": 2, "usage_source": "injected"},
    ),
    "stream cut before its end": Case(
        make_capture(
            stream=True,
            chunks=chat_stream(finish=None, done=False),
            outcome="cancelled",
            error=("client_disconnected", "the client disconnected mid-response"),
        ),
        {
            "status": "cancelled",
            "error.type": "client_disconnected",
            "output.choices.0.message.content": "Hello",
        },
    ),
    "upstream error body": Case(
        make_capture(
            status=400,
            chunks=[b'{"error": {"message": "bad model", "type": "invalid_request_error"}}'],
        ),
        {
            "status": "error",
            "http_status": 400,
            "error.message": "bad model",
            "error.type": "invalid_request_error",
            "usage": None,
        },
    ),
    "upstream unreachable": Case(
        make_capture(
            status=None, outcome="error", error=("upstream_unreachable", "connection refused")
        ),
        {"status": "error", "error.type": "upstream_unreachable", "output": None},
    ),
    "Azure-style path is a chat call": Case(
        make_capture(path="/openai/deployments/gpt4/chat/completions", stream=True),
        {
            "op_name": "openai.chat.completions.create",
            "output.object": "chat.completion",
            "output.choices.0.message.content": "Hello",
            "usage_source": "estimated",
        },
    ),
    "embedding vectors are summarised": Case(
        make_capture(
            path="/v1/embeddings",
            request=b'{"model": "text-embedding-3-small", "input": "hi"}',
            chunks=[embeddings_body()],
        ),
        {
            "op_name": "openai.embeddings.create",
            "output.embeddings.count": 1,
            "prompt_digest": None,
            "usage.prompt_tokens": 3,
        },
    ),
    "unknown endpoint keeps method and path as its name": Case(
        make_capture(path="/v1/things", request=b'{"model": "m"}', chunks=[b'{"ok": true}']),
        {"op_name": GENERIC_OP, "display_name": "POST /v1/things", "usage": None},
    ),
    "a request that is not JSON is kept raw": Case(
        make_capture(request=b'{"model": "gpt-4o-mini", "messages": [', chunks=[b"{}"]),
        {"inputs.raw": '{"model": "gpt-4o-mini", "messages": ['},
    ),
    "gzip response is decoded": Case(
        make_capture(
            response_headers=[("Content-Type", "application/json"), ("Content-Encoding", "gzip")],
            chunks=[gzip.compress(b'{"model": "gpt-4o-mini-2024-07-18", "choices": []}')],
        ),
        {"response_model": "gpt-4o-mini-2024-07-18", "output.choices": []},
    ),
    "trace context, names and properties from the headers": Case(
        make_capture(
            meta=RequestMeta(
                project="team-a",
                session_id="s-1",
                user_id="u-1",
                name="summarise",
                properties={"env": "prod"},
                traceparent=f"00-{TRACE}-{PARENT}-01",
            )
        ),
        {
            "project": "team-a",
            "trace_id": TRACE,
            "parent_id": PARENT,
            "display_name": "summarise",
            "session_id": "s-1",
            "user_id": "u-1",
            "attributes.properties.env": "prod",
        },
    ),
    "NaN and -Infinity from an upstream are stored as strings, and said so": Case(
        make_capture(
            chunks=[
                b'{"model": "local", "choices": [{"index": 0, "logprobs": {"content": '
                b'[{"token": "a", "logprob": -Infinity}, {"token": "b", "logprob": NaN}]}}]}'
            ]
        ),
        {
            "output.choices.0.logprobs.content.0.logprob": "-Infinity",
            "output.choices.0.logprobs.content.1.logprob": "NaN",
            "attributes.nonfinite": ["output"],
        },
    ),
    "a key in the query and the body is masked": Case(
        make_capture(request=chat_request(api_key=KEY)),
        {"inputs.model": "gpt-4o-mini"},
        absent=(KEY,),
    ),
}


@pytest.fixture
def recorder() -> Recorder:
    return Recorder(Settings(project="default"), SALT)


@pytest.mark.parametrize("name", list(CASES))
def test_record_fields(recorder: Recorder, name: str) -> None:
    case = CASES[name]
    record = recorder.build(case.capture)
    assert record.id == case.capture.call_id
    for path, want in case.expect.items():
        assert dig(record, path) == want, path
    text = json.dumps(record.to_api())
    for secret in case.absent:
        assert secret not in text


def test_times_come_from_the_capture(recorder: Recorder) -> None:
    capture = make_capture(stream=True, upstream_wait=0.0)
    capture.t_first_chunk = capture.t0 + 0.040
    capture.t_end = capture.t0 + 0.250
    record = recorder.build(capture)
    assert record.latency_ms == 250.0 and record.ttft_ms == 40.0
    assert record.ended_at is not None
    assert (record.ended_at - record.started_at).total_seconds() == pytest.approx(0.25)
    assert record.overhead_ms == 250.0  # no time was spent waiting on the upstream


def test_prompt_digest_follows_the_template_not_the_user_turn(recorder: Recorder) -> None:
    one = recorder.build(make_capture(1, request=chat_request("first question")))
    two = recorder.build(make_capture(2, request=chat_request("second question")))
    other = recorder.build(make_capture(3, request=chat_request("first question", seed=7)))
    assert one.prompt_digest is not None
    assert one.prompt_digest == two.prompt_digest != other.prompt_digest


def test_fallback_keeps_identity_times_and_the_error(recorder: Recorder) -> None:
    meta = RequestMeta(project="team-a", user_id="u-1", traceparent=f"00-{TRACE}-{PARENT}-01")
    capture = make_capture(7, meta=meta, status=502)
    built = recorder.build(capture)
    fallback = recorder.fallback(capture, KeyError("recorder bug"))
    same = ("id", "project", "trace_id", "parent_id", "op_name", "display_name", "started_at")
    assert {k: getattr(fallback, k) for k in same} == {k: getattr(built, k) for k in same}
    assert (fallback.status, fallback.http_status, fallback.user_id) == ("error", 502, "u-1")
    assert fallback.latency_ms == built.latency_ms
    assert fallback.inputs is None and fallback.output is None
    assert fallback.error == {
        "message": "KeyError: 'recorder bug'",
        "type": "record_error",
        "code": None,
    }
    assert KEY not in json.dumps(fallback.to_api())


def test_header_values_not_in_utf8_are_named(recorder: Recorder) -> None:
    capture = make_capture(meta=RequestMeta(session_id="caf\u00e9"))
    capture.headers_not_utf8 = ("wiretrace-session-id",)
    record = recorder.build(capture)
    assert record.attributes["headers_not_utf8"] == ["wiretrace-session-id"]
    assert "headers_not_utf8" not in recorder.build(make_capture(2)).attributes
    assert "nonfinite" not in recorder.build(make_capture(3)).attributes


def test_a_stream_over_the_cap_keeps_its_end(recorder: Recorder) -> None:
    """The head up to ``max_body_bytes`` and the kept tail: the record still has the finish
    reason and the upstream's usage, and says it was truncated."""
    pieces = [f"<{n}>" + "x" * 1000 for n in range(200)]
    chunks = chat_stream(pieces, usage={"prompt_tokens": 11, "completion_tokens": 200})
    capture = make_capture(stream=True, chunks=chunks, max_body_bytes=4000)
    assert capture.response_truncated and sum(map(len, capture.chunks)) == 4000
    record = recorder.build(capture)
    content = dig(record, "output.choices.0.message.content")
    assert content.startswith("<0>") and content.endswith("<199>" + "x" * 1000)
    assert "<100>" not in content  # the middle is gone
    assert dig(record, "output.choices.0.finish_reason") == "stop"
    assert (record.usage_source, dig(record, "usage.prompt_tokens")) == ("upstream", 11)
    assert dig(record, "attributes.response.truncated") is True
