"""What each convention's span becomes, sent through the real receiver: the GenAI forms
(current JSON messages, the 1.27 span events, the ``gen_ai.prompt.{i}`` attributes of
OpenLLMetry up to 0.54), OpenInference's flattened messages, the kinds of non-LLM spans,
the project rule, and secrets masked.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.harness import Servers
from tests.proxy.otlp.bodies import export, new_span_id, new_trace_id, post, span


def ingest(servers: Servers, attributes: dict[str, Any], **options: Any) -> Any:
    """One span with ``attributes`` sent and read back as its record."""
    trace, span_id = new_trace_id(), new_span_id()
    events = options.pop("events", ())
    headers = options.pop("headers", None)
    sent = export(span(trace, span_id, "call", attributes=attributes, events=events), **options)
    status, _, _ = post(servers.proxy_url + "/otlp/v1/traces", sent, headers=headers)
    assert status == 200
    [record] = servers.records(id=span_id)
    return record


def test_legacy_gen_ai_prompt_and_completion_attributes(servers: Servers) -> None:
    record = ingest(
        servers,
        {
            "llm.request.type": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.usage.prompt_tokens": 120,
            "gen_ai.usage.completion_tokens": 30,
            "gen_ai.usage.cache_read_input_tokens": 100,
            "gen_ai.prompt.0.role": "system",
            "gen_ai.prompt.0.content": "You are terse.",
            "gen_ai.prompt.1.role": "user",
            "gen_ai.prompt.1.content": "Weather in Paris?",
            "gen_ai.completion.0.role": "assistant",
            "gen_ai.completion.0.finish_reason": "tool_calls",
            "gen_ai.completion.0.tool_calls.0.id": "call_1",
            "gen_ai.completion.0.tool_calls.0.name": "weather",
            "gen_ai.completion.0.tool_calls.0.arguments": '{"city": "Paris"}',
        },
    )
    assert record.kind == "llm" and record.model == "gpt-4o"
    assert record.response_model == "gpt-4o-2024-08-06"
    assert (record.usage.prompt_tokens, record.usage.completion_tokens) == (120, 30)
    assert record.usage.cached_tokens == 100 and record.usage.total_tokens == 150
    assert record.inputs["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Weather in Paris?"},
    ]
    choice = record.output["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert call["function"] == {"name": "weather", "arguments": '{"city": "Paris"}'}
    assert record.cost_usd is not None and record.cost_usd > 0


def test_span_events_of_genai_1_27(servers: Servers) -> None:
    prompt = [{"role": "user", "content": "Hi"}]
    completion = [{"index": 0, "finish_reason": "stop", "message": {"content": "Hello"}}]
    record = ingest(
        servers,
        {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"},
        events=(
            ("gen_ai.content.prompt", {"gen_ai.prompt": json.dumps(prompt)}),
            ("gen_ai.content.completion", {"gen_ai.completion": json.dumps(completion)}),
        ),
    )
    assert record.inputs["messages"] == prompt
    assert record.output["choices"] == [
        {"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}
    ]


def test_current_genai_parts_with_tool_calls_ttft_and_reasoning(servers: Servers) -> None:
    inputs = [
        {"role": "user", "parts": [{"type": "text", "content": "2+2?"}]},
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "c1", "name": "calc", "arguments": {"x": "2+2"}}],
        },
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": 4}]},
    ]
    outputs = [
        {"role": "assistant", "parts": [{"type": "text", "content": "4"}], "finish_reason": "stop"}
    ]
    record = ingest(
        servers,
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "o3-mini",
            "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Math."}]),
            "gen_ai.input.messages": json.dumps(inputs),
            "gen_ai.output.messages": json.dumps(outputs),
            "gen_ai.usage.input_tokens": 50,
            "gen_ai.usage.output_tokens": 40,
            "gen_ai.usage.reasoning.output_tokens": 32,
            "gen_ai.response.time_to_first_chunk": 0.25,
            "gen_ai.request.temperature": 0.2,
        },
    )
    messages = record.inputs["messages"]
    assert messages[0] == {"role": "system", "content": "Math."}
    assert messages[2]["tool_calls"][0]["function"] == {"name": "calc", "arguments": '{"x": "2+2"}'}
    assert messages[3] == {"role": "tool", "tool_call_id": "c1", "content": "4"}
    assert record.inputs["temperature"] == 0.2
    assert record.output["choices"][0]["message"] == {"role": "assistant", "content": "4"}
    assert record.usage.reasoning_tokens == 32 and record.ttft_ms == 250.0


def test_openinference_flattened_messages_without_input_value(servers: Servers) -> None:
    record = ingest(
        servers,
        {
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o-mini",
            "llm.input_messages.0.message.role": "user",
            "llm.input_messages.0.message.contents.0.message_content.type": "text",
            "llm.input_messages.0.message.contents.0.message_content.text": "Look:",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.tool_calls.0.tool_call.id": "t1",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "zoom",
            "llm.token_count.prompt": 10,
            "llm.token_count.completion": 5,
            "llm.token_count.total": 15,
            "session.id": "s-1",
            "user.id": "u-1",
        },
    )
    assert record.kind == "llm" and record.model == "gpt-4o-mini"
    assert record.inputs["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Look:"}]}
    ]
    call = record.output["choices"][0]["message"]["tool_calls"][0]
    assert call["id"] == "t1" and call["function"]["name"] == "zoom"
    assert (record.session_id, record.user_id) == ("s-1", "u-1")
    assert record.usage.total_tokens == 15


@pytest.mark.parametrize(
    ("attributes", "kind"),
    [
        ({"openinference.span.kind": "TOOL"}, "tool"),
        ({"openinference.span.kind": "AGENT"}, "agent"),
        ({"openinference.span.kind": "CHAIN"}, "chain"),
        ({"openinference.span.kind": "RETRIEVER"}, "retriever"),
        ({"openinference.span.kind": "EMBEDDING"}, "embedding"),
        ({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"}, "tool"),
        ({"gen_ai.operation.name": "invoke_agent"}, "agent"),
        ({"gen_ai.operation.name": "embeddings", "gen_ai.request.model": "e-3"}, "embedding"),
        ({"traceloop.span.kind": "workflow"}, "chain"),
        ({"http.request.method": "GET"}, "op"),
    ],
)
def test_non_llm_spans_keep_their_kind(
    servers: Servers, attributes: dict[str, Any], kind: str
) -> None:
    record = ingest(servers, attributes)
    assert record.kind == kind and record.usage is None and record.cost_usd is None


def test_project_header_then_resource_then_service_name(servers: Servers) -> None:
    assert ingest(servers, {}).project == "shop"
    assert ingest(servers, {}, resource={"wiretrace.project": "named"}).project == "named"
    headers = {"Wiretrace-Project": "header"}
    named = ingest(servers, {}, resource={"wiretrace.project": "named"}, headers=headers)
    assert named.project == "header"
    assert ingest(servers, {}, service="unknown_service:python").project == "default"


def test_secrets_in_attributes_are_masked(servers: Servers) -> None:
    key = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0" * 2
    record = ingest(servers, {"http.request.header.authorization": f"Bearer {key}"})
    assert key not in json.dumps(record.attributes)
