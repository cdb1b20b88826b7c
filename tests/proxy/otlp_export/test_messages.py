"""OpenAI bodies as GenAI convention messages (``gen_ai.input.messages`` /
``gen_ai.output.messages``): roles, text, tool calls and their results, reasoning,
images, for Chat Completions, Responses and legacy Completions."""

from __future__ import annotations

from typing import Any

from wiretrace_proxy.endpoints import Endpoint
from wiretrace_proxy.otlp_export.messages import (
    finish_reasons,
    input_messages,
    output_messages,
    system_instructions,
)


def test_chat_messages_with_images_names_tool_calls_and_results() -> None:
    inputs: Any = {
        "messages": [
            {"role": "developer", "content": "Be brief.", "name": "rules"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "https://x/cat.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "c1", "function": {"name": "look", "arguments": "not json"}}],
            },
            {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "a cat"}]},
        ]
    }
    assert input_messages(Endpoint.CHAT, inputs) == [
        {"role": "developer", "parts": [{"type": "text", "content": "Be brief."}], "name": "rules"},
        {
            "role": "user",
            "parts": [
                {"type": "text", "content": "What is this?"},
                {"type": "uri", "modality": "image", "uri": "https://x/cat.png"},
            ],
        },
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "c1", "name": "look", "arguments": "not json"}],
        },
        {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": "c1", "response": "a cat"}],
        },
    ]


def test_chat_output_one_message_per_choice_with_reasoning_and_refusal() -> None:
    output: Any = {
        "choices": [
            {
                "message": {"role": "assistant", "content": "Hi", "reasoning_content": "hmm"},
                "finish_reason": "stop",
            },
            {"message": {"content": None, "refusal": "No."}, "finish_reason": "content_filter"},
            {"message": {"content": "cut"}, "finish_reason": None},
        ]
    }
    assert output_messages(Endpoint.CHAT, output) == [
        {
            "role": "assistant",
            "parts": [{"type": "reasoning", "content": "hmm"}, {"type": "text", "content": "Hi"}],
            "finish_reason": "stop",
        },
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "No."}],
            "finish_reason": "content_filter",
        },
        {"role": "assistant", "parts": [{"type": "text", "content": "cut"}], "finish_reason": None},
    ]
    assert finish_reasons(Endpoint.CHAT, output) == ["stop", "content_filter"]


def test_responses_input_items_and_a_function_call_output() -> None:
    inputs: Any = {
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
            {"type": "function_call", "call_id": "f1", "name": "weather", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "f1", "output": "sunny"},
        ]
    }
    assert input_messages(Endpoint.RESPONSES, inputs) == [
        {"role": "user", "parts": [{"type": "text", "content": "Weather?"}]},
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "f1", "name": "weather", "arguments": {}}],
        },
        {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": "f1", "response": "sunny"}],
        },
    ]
    assert system_instructions(Endpoint.RESPONSES, inputs) is None
    output: Any = {
        "status": "completed",
        "output": [
            {"type": "function_call", "call_id": "f2", "name": "w", "arguments": '{"a": 1}'}
        ],
    }
    assert output_messages(Endpoint.RESPONSES, output) == [
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "f2", "name": "w", "arguments": {"a": 1}}],
            "finish_reason": "tool_call",
        }
    ]
    assert finish_reasons(Endpoint.RESPONSES, {"status": "failed", "output": []}) == ["error"]


def test_legacy_completions_prompts_and_texts() -> None:
    assert input_messages(Endpoint.COMPLETIONS, {"prompt": ["a", "b"]}) == [
        {"role": "user", "parts": [{"type": "text", "content": "a"}]},
        {"role": "user", "parts": [{"type": "text", "content": "b"}]},
    ]
    output: Any = {"choices": [{"text": "c", "finish_reason": "length"}]}
    assert output_messages(Endpoint.COMPLETIONS, output) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "c"}],
            "finish_reason": "length",
        }
    ]


def test_bodies_without_messages_give_none() -> None:
    raw: Any = {"raw": "not json", "content_type": "text/plain"}
    assert input_messages(Endpoint.CHAT, raw) is None
    assert input_messages(Endpoint.EMBEDDINGS, {"input": "x"}) is None
    assert output_messages(Endpoint.CHAT, "text") is None
    assert input_messages(Endpoint.RESPONSES, {"input": 3}) is None
