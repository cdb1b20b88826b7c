"""``prompts``: the template is what a developer authored, not the user turn."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest
from wiretrace_proxy.endpoints import Endpoint
from wiretrace_proxy.record.prompts import (
    changed_keys,
    diff_templates,
    prompt_digest,
    prompt_template,
)

CHAT = Endpoint.CHAT
TOOL = {
    "type": "function",
    "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}},
}


def chat(**changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "model": "gpt-4o",
        "temperature": 0.2,
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "What is 2+2?"},
        ],
        "tools": [TOOL],
        "stream": True,
        "user": "u-1",
    }
    request.update(changes)
    return request


def test_digest_is_sha256_of_canonical_template_first_16_hex() -> None:
    template = prompt_template(CHAT, chat())
    assert template == {
        "endpoint": "chat.completions",
        "messages": [{"role": "system", "content": "You are terse."}],
        "tools": [TOOL],
        "params": {"model": "gpt-4o", "temperature": 0.2},
    }
    canonical = json.dumps(template, sort_keys=True, separators=(",", ":"))
    assert prompt_digest(CHAT, chat()) == hashlib.sha256(canonical.encode()).hexdigest()[:16]


@pytest.mark.parametrize(
    "other",
    [
        chat(messages=[chat()["messages"][0], {"role": "user", "content": "Hi"}]),
        chat(messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b"},
            {"role": "tool", "tool_call_id": "t", "content": "c"},
            {"role": "user", "content": "d"},
        ]),
        chat(stream=False, user="u-2", metadata={"k": "v"}, store=True, service_tier="flex"),
        chat(temperature=0.2, top_p=None),  # a null parameter is an absent one
        {**chat(), "tools": [TOOL], "model": "gpt-4o"},  # key order does not matter
    ],
)  # fmt: skip
def test_user_turns_and_per_request_fields_do_not_change_the_version(other: Any) -> None:
    assert prompt_digest(CHAT, other) == prompt_digest(CHAT, chat())


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"messages": [{"role": "system", "content": "You are verbose."}]}, "messages"),
        ({"messages": [{"role": "developer", "content": "You are terse."}]}, "messages"),
        ({"tools": [TOOL, TOOL]}, "tools"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"temperature": 0.3}, "params.temperature"),
        ({"model": "gpt-4o-mini"}, "params.model"),
        ({"max_completion_tokens": 50}, "params.max_completion_tokens"),
        ({"seed": 7}, "params.seed"),
        ({"reasoning_effort": "low"}, "params.reasoning_effort"),
        ({"stop": ["\n"]}, "params.stop"),
        ({"n": 2}, "params.n"),
    ],
)
def test_template_changes_make_a_new_version(change: dict[str, Any], key: str) -> None:
    base, changed = chat(), chat(**change)
    assert prompt_digest(CHAT, changed) != prompt_digest(CHAT, base)
    assert changed_keys(prompt_template(CHAT, base), prompt_template(CHAT, changed)) == [key]


def test_integral_float_equals_int() -> None:
    assert prompt_digest(CHAT, chat(temperature=1.0)) == prompt_digest(CHAT, chat(temperature=1))


def test_responses_template_keeps_instructions_tools_format_and_system_items() -> None:
    request: dict[str, Any] = {
        "model": "o3",
        "instructions": "Answer in French.",
        "input": [
            {"role": "developer", "content": "Cite sources."},
            {"role": "user", "content": "Bonjour?"},
            {"type": "function_call_output", "call_id": "c", "output": "{}"},
        ],
        "tools": [{"type": "web_search"}],
        "text": {"format": {"type": "json_schema", "name": "a"}, "verbosity": "low"},
        "reasoning": {"effort": "high"},
        "prompt": {"id": "pmpt_1", "version": "3", "variables": {"city": "Lyon"}},
        "previous_response_id": "resp_1",
        "store": False,
    }
    assert prompt_template(Endpoint.RESPONSES, request) == {
        "endpoint": "responses",
        "instructions": "Answer in French.",
        "messages": [{"role": "developer", "content": "Cite sources."}],
        "prompt": {"id": "pmpt_1", "version": "3"},
        "tools": [{"type": "web_search"}],
        "format": {"type": "json_schema", "name": "a"},
        "params": {"model": "o3", "reasoning": {"effort": "high"}, "verbosity": "low"},
    }
    other = copy.deepcopy(request)
    other["input"] = "a plain user string"
    other["prompt"]["variables"] = {"city": "Paris"}
    other["input"] = [request["input"][0], {"role": "user", "content": "Salut"}]
    assert prompt_digest(Endpoint.of("/v1/responses/"), other) == prompt_digest(
        Endpoint.RESPONSES, request
    )


def test_legacy_completions_digest_parameters_only() -> None:
    one: dict[str, Any] = {
        "model": "gpt-3.5-turbo-instruct",
        "prompt": "Translate: cat",
        "max_tokens": 5,
    }
    two = {**one, "prompt": "Translate: dog"}
    assert prompt_template(Endpoint.COMPLETIONS, one) == {
        "endpoint": "completions",
        "params": {"model": "gpt-3.5-turbo-instruct", "max_tokens": 5},
    }
    assert prompt_digest(Endpoint.COMPLETIONS, one) == prompt_digest(Endpoint.COMPLETIONS, two)
    assert prompt_digest(Endpoint.COMPLETIONS, {**one, "max_tokens": 6}) != prompt_digest(
        Endpoint.COMPLETIONS, one
    )


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/embeddings", {"model": "text-embedding-3-small", "input": "x"}),
        (CHAT, {"raw": "{not json", "content_type": "application/json"}),
        (CHAT, "a string"),
        (CHAT, None),
        (CHAT, ["a", "list"]),
    ],
)
def test_no_digest_without_a_prompt_endpoint_or_object_body(path: str, body: Any) -> None:
    assert (
        prompt_digest(Endpoint.of(path), body) is None
        and prompt_template(Endpoint.of(path), body) == {}
    )


def test_chat_without_system_prompt_still_has_a_version() -> None:
    bare: dict[str, Any] = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    assert prompt_template(CHAT, bare) == {
        "endpoint": "chat.completions",
        "params": {"model": "gpt-4o"},
    }
    assert prompt_digest(CHAT, bare) is not None


def test_chat_and_responses_with_same_parts_differ() -> None:
    assert prompt_digest(CHAT, {"model": "m"}) != prompt_digest(Endpoint.RESPONSES, {"model": "m"})


def test_unicode_and_lone_surrogates_digest() -> None:
    odd = chat(messages=[{"role": "system", "content": "Répondez \ud800 ✓"}])
    assert prompt_digest(CHAT, odd) is not None


def test_diff_is_a_unified_diff_of_pretty_json() -> None:
    old = prompt_template(CHAT, chat())
    new = prompt_template(CHAT, chat(temperature=0.7))
    text = diff_templates(old, new, "v1", "v2")
    assert text.startswith("--- v1\n+++ v2\n@@")
    assert '-    "temperature": 0.2\n' in text and '+    "temperature": 0.7\n' in text
    assert diff_templates(old, old, "v1", "v1") == ""
