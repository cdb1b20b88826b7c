"""Records as OTLP spans: ids, times, status, resource, and the GenAI semantic conventions
(``gen_ai.*``, span name ``{operation} {model}``) plus optional OpenInference keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from wiretrace_proxy.callrecord import Usage
from wiretrace_proxy.otlp_export.encode import (
    MAX_STRING_CHARS,
    EncodeOptions,
    encode_request,
    encode_span,
    exportable,
)

from tests.factories import T0, make_record
from tests.proxy.otlp_export.receiver import attrs

OPTIONS = EncodeOptions(provider="openai", server_address="api.openai.com", server_port=443)

CHAT_OUTPUT: Any = {
    "id": "chatcmpl-42",
    "object": "chat.completion",
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
                    }
                ],
            },
            "finish_reason": "tool_calls",
        }
    ],
}


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def nanos(moment: datetime) -> int:
    """Exact nanoseconds since the epoch (no float rounding)."""
    return (moment - EPOCH) // timedelta(microseconds=1) * 1000


def test_a_chat_call_is_a_client_span_with_its_ids_times_and_genai_attributes() -> None:
    record = make_record(
        3,
        parent_id="00000000000000aa",
        inputs={
            "model": "gpt-4o-mini",
            "temperature": 0.2,
            "max_tokens": 50,
            "stop": "END",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
                {"role": "tool", "tool_call_id": "call_0", "content": "sunny"},
            ],
        },
        output=CHAT_OUTPUT,
        usage=Usage(10, 7, 17, cached_tokens=4, reasoning_tokens=2),
        session_id="s-1",
    )
    span = encode_span(record, OPTIONS)
    assert span.trace_id == bytes.fromhex(f"{3:032x}")
    assert span.span_id == bytes.fromhex(f"{3:016x}")
    assert span.parent_span_id == bytes.fromhex("00000000000000aa")
    assert span.name == "chat gpt-4o-mini"
    assert span.kind == Span.SPAN_KIND_CLIENT
    assert span.start_time_unix_nano == nanos(T0 + timedelta(seconds=3))
    assert span.end_time_unix_nano == nanos(T0 + timedelta(seconds=3.25))
    assert span.status.code == Status.STATUS_CODE_OK
    found = attrs(span.attributes)
    assert found["gen_ai.operation.name"] == "chat"
    assert found["gen_ai.provider.name"] == found["gen_ai.system"] == "openai"
    assert found["gen_ai.request.model"] == "gpt-4o-mini"
    assert found["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert found["gen_ai.response.id"] == "chatcmpl-42"
    assert found["gen_ai.response.finish_reasons"] == ["tool_calls"]
    assert found["gen_ai.request.temperature"] == 0.2
    assert found["gen_ai.request.max_tokens"] == 50
    assert found["gen_ai.request.stop_sequences"] == ["END"]
    assert found["gen_ai.usage.input_tokens"] == 10
    assert found["gen_ai.usage.output_tokens"] == 7
    assert found["gen_ai.usage.cache_read.input_tokens"] == 4
    assert found["gen_ai.usage.reasoning.output_tokens"] == 2
    assert found["gen_ai.usage.cost"] == 0.00012
    assert found["gen_ai.response.time_to_first_chunk"] == 0.0405
    assert found["gen_ai.conversation.id"] == found["session.id"] == "s-1"
    assert found["server.address"] == "api.openai.com" and found["server.port"] == 443
    assert found["wiretrace.overhead_ms"] == 0.8
    assert json.loads(str(found["gen_ai.input.messages"])) == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Weather?"}]},
        {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": "call_0", "response": "sunny"}],
        },
    ]
    assert json.loads(str(found["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call_1",
                    "name": "weather",
                    "arguments": {"city": "Oslo"},
                }
            ],
            "finish_reason": "tool_call",
        }
    ]
    assert not any(key.startswith(("llm.", "openinference.")) for key in found)


def test_a_responses_call_has_its_instructions_output_and_finish_reason() -> None:
    record = make_record(
        op_name="openai.responses.create",
        inputs={"model": "gpt-4o-mini", "instructions": "Be terse.", "input": "Hi"},
        output={
            "id": "resp_9",
            "object": "response",
            "status": "incomplete",
            "incomplete_details": {"reason": "max_output_tokens"},
            "output": [
                {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Think"}]},
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "He"}],
                },
            ],
        },
    )
    found = attrs(encode_span(record, OPTIONS).attributes)
    assert found["gen_ai.response.id"] == "resp_9"
    assert json.loads(str(found["gen_ai.system_instructions"])) == [
        {"type": "text", "content": "Be terse."}
    ]
    assert json.loads(str(found["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "Hi"}]}
    ]
    assert json.loads(str(found["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [{"type": "reasoning", "content": "Think"}, {"type": "text", "content": "He"}],
            "finish_reason": "length",
        }
    ]


def test_an_embeddings_call_is_named_embeddings_model_and_has_no_messages() -> None:
    record = make_record(
        op_name="openai.embeddings.create",
        model="text-embedding-3-small",
        inputs={"model": "text-embedding-3-small", "input": "x"},
        output={"object": "list", "embeddings": {"count": 1}},
    )
    span = encode_span(record, OPTIONS)
    found = attrs(span.attributes)
    assert span.name == "embeddings text-embedding-3-small"
    assert found["gen_ai.operation.name"] == "embeddings"
    assert "gen_ai.input.messages" not in found and "gen_ai.output.messages" not in found


def test_an_error_is_status_error_with_its_message_and_type() -> None:
    record = make_record(
        status="error",
        http_status=429,
        output={"error": {"message": "slow down"}},
        error={"message": "Rate limit reached", "type": "rate_limit_exceeded", "code": None},
    )
    span = encode_span(record, OPTIONS)
    assert span.status.code == Status.STATUS_CODE_ERROR
    assert span.status.message == "Rate limit reached"
    found = attrs(span.attributes)
    assert found["error.type"] == "rate_limit_exceeded"
    assert found["http.response.status_code"] == 429


def test_an_sdk_span_is_internal_named_after_its_op_with_its_traceback_event() -> None:
    record = make_record(
        5,
        kind="op",
        op_name="app.generate",
        display_name="generate",
        parent_id=None,
        status="error",
        inputs={"question": "why"},
        output=None,
        usage=None,
        cost_usd=None,
        error={"message": "boom", "type": "ValueError", "code": None, "traceback": "Traceback..."},
        attributes={"properties": {"team": "search"}, "retries": 2},
        op_version="abc123",
    )
    span = encode_span(record, OPTIONS)
    assert span.name == "generate" and span.kind == Span.SPAN_KIND_INTERNAL
    assert span.parent_span_id == b""
    found = attrs(span.attributes)
    assert not any(key.startswith("gen_ai.") for key in found)
    assert json.loads(str(found["wiretrace.inputs"])) == {"question": "why"}
    assert found["wiretrace.op_version"] == "abc123"
    assert found["wiretrace.properties.team"] == "search"
    assert found["wiretrace.attributes.retries"] == 2
    (event,) = span.events
    assert event.name == "exception"
    assert attrs(event.attributes) == {
        "exception.type": "ValueError",
        "exception.message": "boom",
        "exception.stacktrace": "Traceback...",
    }


def test_openinference_keys_when_asked() -> None:
    record = make_record(output=CHAT_OUTPUT, usage=Usage(10, 7, 17, cached_tokens=4))
    options = EncodeOptions(provider="openai", openinference=True)
    found = attrs(encode_span(record, options).attributes)
    assert found["openinference.span.kind"] == "LLM"
    assert found["llm.system"] == "openai"
    assert found["llm.model_name"] == "gpt-4o-mini-2024-07-18"
    assert found["llm.token_count.prompt"] == 10
    assert found["llm.token_count.completion"] == 7
    assert found["llm.token_count.total"] == 17
    assert found["llm.token_count.prompt_details.cache_read"] == 4
    assert found["llm.cost.total"] == 0.00012
    assert found["llm.input_messages.0.message.role"] == "user"
    assert found["llm.input_messages.0.message.content"] == "hi"
    call = "llm.output_messages.0.message.tool_calls.0.tool_call"
    assert found[f"{call}.function.name"] == "weather"
    assert json.loads(str(found[f"{call}.function.arguments"])) == {"city": "Oslo"}
    assert json.loads(str(found["input.value"]))["model"] == "gpt-4o-mini"
    assert found["input.mime_type"] == "application/json"
    assert json.loads(str(found["llm.invocation_parameters"])) == {"model": "gpt-4o-mini"}
    op = make_record(kind="op", op_name="app.step", inputs={"a": 1})
    assert attrs(encode_span(op, options).attributes)["openinference.span.kind"] == "CHAIN"


def test_a_huge_body_is_cut_and_named_not_sent_whole() -> None:
    text = "x" * (MAX_STRING_CHARS + 10)
    record = make_record(inputs={"model": "m", "messages": [{"role": "user", "content": text}]})
    found = attrs(encode_span(record, OPTIONS).attributes)
    assert len(str(found["gen_ai.input.messages"])) == MAX_STRING_CHARS
    assert found["wiretrace.truncated_attributes"] == ["gen_ai.input.messages"]


def test_only_final_records_with_w3c_ids_are_exportable() -> None:
    assert exportable(make_record())
    assert not exportable(make_record(status="running"))
    assert not exportable(make_record(id="not-hex"))
    assert not exportable(make_record(parent_id="xyz"))


def test_a_request_has_one_resource_per_project_named_service_name() -> None:
    records = [
        make_record(1, project="a"),
        make_record(2, project="b"),
        make_record(3, project="a"),
    ]
    spans = [(r.project, encode_span(r, OPTIONS).SerializeToString()) for r in records]
    request = ExportTraceServiceRequest.FromString(encode_request(spans))  # the wire format
    assert request.resource_spans[0].scope_spans[0].spans[0] == encode_span(records[0], OPTIONS)
    by_service = {
        attrs(rs.resource.attributes)["service.name"]: [
            s.span_id for ss in rs.scope_spans for s in ss.spans
        ]
        for rs in request.resource_spans
    }
    assert by_service == {
        "a": [bytes.fromhex(f"{1:016x}"), bytes.fromhex(f"{3:016x}")],
        "b": [bytes.fromhex(f"{2:016x}")],
    }
    scope = request.resource_spans[0].scope_spans[0].scope
    assert scope.name == "wiretrace"


def test_a_record_without_an_end_ends_at_its_latency() -> None:
    record = make_record(ended_at=None, latency_ms=1500.0)
    span = encode_span(record, OPTIONS)
    assert span.end_time_unix_nano - span.start_time_unix_nano == 1_500_000_000


def test_a_record_naming_its_provider_and_host_wins_over_the_servers_upstream() -> None:
    record = make_record(attributes={"provider": "azure", "upstream_host": "x.openai.azure.com"})
    found = attrs(encode_span(record, OPTIONS).attributes)
    assert found["gen_ai.provider.name"] == "azure.ai.openai"
    assert found["server.address"] == "x.openai.azure.com" and "server.port" not in found
    unknown = attrs(encode_span(make_record(), EncodeOptions()).attributes)
    assert unknown["gen_ai.provider.name"] == "_OTHER"


def test_a_span_over_127_bytes_and_a_request_over_16_kib_frame_right() -> None:
    """Lengths of 2 and 3 varint bytes (the hand-assembled request's framing)."""
    big = make_record(
        inputs={"model": "m", "messages": [{"role": "user", "content": "x" * 20_000}]}
    )
    spans = [("p", encode_span(r, OPTIONS).SerializeToString()) for r in (make_record(), big)]
    request = ExportTraceServiceRequest.FromString(encode_request(spans))
    got = request.resource_spans[0].scope_spans[0].spans
    assert [s.SerializeToString() for s in got] == [s for _, s in spans]
    assert encode_request([]) == b""


def test_a_body_over_the_bound_gives_no_messages_and_says_so() -> None:
    record = make_record(
        output=CHAT_OUTPUT,
        attributes={"request": {"bytes": 2_000_000}, "response": {"bytes": 300}},
    )
    found = attrs(encode_span(record, EncodeOptions(openinference=True)).attributes)
    assert "gen_ai.input.messages" not in found and "input.value" not in found
    assert "llm.input_messages.0.message.role" not in found
    assert found["wiretrace.omitted_attributes"] == ["gen_ai.input.messages"]
    assert "gen_ai.output.messages" in found and "output.value" in found
