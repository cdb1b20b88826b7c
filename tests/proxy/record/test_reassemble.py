"""``reassemble``: every recorded stream back into the object a non-streamed call returns.

Expected values come from a deliberately naive reading of each fixture (split the body on
blank lines, ``json.loads`` each ``data:``), independent of ``sse.py`` and the reassemblers.
Shapes checked against the openai SDK's own models (``ChatCompletion``, ``Completion``,
``Response``) and the API reference for streaming events.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from openai.types import Completion
from openai.types.chat import ChatCompletion
from openai.types.responses import Response
from wiretrace_proxy.endpoints import Endpoint
from wiretrace_proxy.record.reassemble import (
    MAX_GENERIC_EVENTS,
    Reassembled,
    reassemble_stream,
    stream_kind,
)
from wiretrace_proxy.record.sse import SSEEvent, iter_events

from tests.fakes.cassettes import Interaction, all_fixtures, load

Payloads = list[tuple[str, Any]]


def streams() -> list[tuple[str, Interaction]]:
    out = []
    for path in all_fixtures():
        for n, item in enumerate(load(path)):
            if item.is_stream:
                out.append((f"{path.parent.name}/{path.name}#{n}", item))
    return out


STREAMS = streams()
IDS = [name for name, _ in STREAMS]


def of_kind(kind: str) -> pytest.MarkDecorator:
    """``parametrize`` over the streams ``stream_kind`` sends to one reassembler."""
    chosen = [
        (n, i)
        for n, i in STREAMS
        if stream_kind(Endpoint.of(i.path), list(iter_events([i.body]))) == kind
    ]
    assert chosen, kind
    return pytest.mark.parametrize(("name", "item"), chosen, ids=[n for n, _ in chosen])


def by_name(name: str) -> Interaction:
    return next(item for key, item in STREAMS if key == name)


def payloads(body: bytes) -> Payloads:
    """Naive oracle: ``(event, parsed data)`` per blank-line-separated block (``[DONE]`` out)."""
    out: Payloads = []
    for block in body.decode().replace("\r\n", "\n").split("\n\n"):
        event, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data and data != ["[DONE]"]:
            out.append((event, json.loads("\n".join(data))))
    return out


def reassemble(item: Interaction) -> Reassembled:
    return reassemble_stream(Endpoint.of(item.path), [item.body])


def chat_expectations(chunks: Payloads) -> dict[int, dict[str, Any]]:
    """Per choice index: concatenated content/refusal, tool calls by index, finish reason."""
    choices: dict[int, dict[str, Any]] = {}
    for _, chunk in chunks:
        for choice in chunk.get("choices") or []:
            want = choices.setdefault(
                choice["index"], {"content": None, "refusal": None, "tools": {}, "finish": None}
            )
            delta = choice.get("delta") or {}
            for key in ("content", "refusal"):
                if isinstance(delta.get(key), str):
                    want[key] = (want[key] or "") + delta[key]
            for call in delta.get("tool_calls") or []:
                got = want["tools"].setdefault(call["index"], {"id": None, "name": "", "args": ""})
                got["id"] = got["id"] or call.get("id")
                function = call.get("function") or {}
                got["name"] += function.get("name") or ""
                got["args"] += function.get("arguments") or ""
            want["finish"] = choice.get("finish_reason") or want["finish"]
    return choices


# --- every streamed fixture ------------------------------------------------------------------


@of_kind("chat")
def test_chat_streams_reassemble_to_a_valid_chat_completion(name: str, item: Interaction) -> None:
    chunks = payloads(item.body)
    result = reassemble(item)
    assert result.output is not None
    out: Any = result.output
    expected = chat_expectations(chunks)
    assert [c["index"] for c in out["choices"]] == sorted(expected)
    for choice in out["choices"]:
        want, message = expected[choice["index"]], choice["message"]
        assert message["content"] == want["content"]
        assert message["refusal"] == want["refusal"]
        assert choice["finish_reason"] == want["finish"]
        calls = message.get("tool_calls", [])
        assert len(calls) == len(want["tools"])
        for call, index in zip(calls, sorted(want["tools"]), strict=True):
            assert call["id"] == want["tools"][index]["id"] and call["id"]
            assert call["function"]["name"] == want["tools"][index]["name"]
            assert call["function"]["arguments"] == want["tools"][index]["args"]
            if choice["finish_reason"] == "tool_calls":
                assert isinstance(json.loads(call["function"]["arguments"]), dict)
    usages = [c["usage"] for _, c in chunks if c.get("usage")]
    assert out["usage"] == (usages[-1] if usages else None)
    assert (result.usage is not None) == bool(usages)
    assert "obfuscation" not in json.dumps(out)
    assert result.model == next(c["model"] for _, c in chunks if c.get("model"))
    assert result.events == item.body.count(b"data:")
    if result.complete and result.error is None:
        ChatCompletion.model_validate(out)


@of_kind("responses")
def test_responses_streams_give_the_terminal_response_untouched(
    name: str, item: Interaction
) -> None:
    events = payloads(item.body)
    terminal = {"response.completed", "response.incomplete", "response.failed"}
    finals = [d["response"] for _, d in events if d["type"] in terminal]
    assert len(finals) == 1
    result = reassemble(item)
    assert result.complete
    assert result.output == finals[-1]
    assert result.model == finals[-1]["model"]
    usage = finals[-1]["usage"]
    assert (result.usage is None) == (usage is None)
    if usage:
        assert result.usage is not None
        assert result.usage.prompt_tokens == usage["input_tokens"]
        assert result.usage.completion_tokens == usage["output_tokens"]


@of_kind("responses")
def test_responses_streams_cut_before_the_end_rebuild_the_output(
    name: str, item: Interaction
) -> None:
    """Cut just before the terminal event: every item was already sent by
    ``output_item.done``, so the rebuilt output must equal the final one."""
    body = item.body
    terminal = (
        b"event: response.completed",
        b"event: response.incomplete",
        b"event: response.failed",
    )
    cut = max(body.rfind(name) for name in terminal)
    assert cut > 0
    final: Any = reassemble(item).output
    partial = reassemble_stream(Endpoint.of(item.path), [body[:cut]])
    out: Any = partial.output
    assert not partial.complete
    assert out["status"] == "incomplete"
    assert out["id"] == final["id"]
    assert _without_encrypted(out["output"]) == _without_encrypted(final["output"])
    Response.model_validate(out)


def _without_encrypted(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reasoning items' ``encrypted_content`` differs between ``output_item.done`` and
    ``response.completed`` in real streams (re-encrypted per event), so it is not compared."""
    return [{k: v for k, v in item.items() if k != "encrypted_content"} for item in items]


@of_kind("completions")
def test_completions_streams_concatenate_text(name: str, item: Interaction) -> None:
    chunks = payloads(item.body)
    result = reassemble(item)
    out: Any = result.output
    texts: dict[int, str] = {}
    for _, chunk in chunks:
        for choice in chunk["choices"]:
            texts[choice["index"]] = texts.get(choice["index"], "") + choice["text"]
    assert {c["index"]: c["text"] for c in out["choices"]} == texts
    assert out["object"] == "text_completion"
    assert result.complete
    Completion.model_validate(out)


def _random_chunks(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 200))))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


@pytest.mark.parametrize(("name", "item"), STREAMS, ids=IDS)
def test_random_rechunking_gives_identical_results(name: str, item: Interaction) -> None:
    whole = reassemble(item)
    rng = random.Random(name)
    for _ in range(4):
        assert reassemble_stream(Endpoint.of(item.path), _random_chunks(item.body, rng)) == whole
    assert whole.malformed == 0


# --- specific cases --------------------------------------------------------------------------

N3 = "openai-python/a491adda08c3d4fde95f5b2ee3f60f7f745f1a56d82e62f58031cc2add502380.bin#0"
REFUSAL = "openai-python/173417d553406f034f643e5db3f8d591fb691ebac56f5ae39a22cc7d455c5353.bin#0"
REFUSAL_LOGPROBS = (
    "openai-python/569c877e69429d4cbc1577d2cd6dd33878095c68badc6b6654a69769b391a1c1.bin#0"
)
LOGPROBS = "openai-python/83b060bae42eb41c4f1edbb7c1542b954b37d9dfd1910b964ddebc9677e6ae85.bin#0"
PARALLEL = "openai-python/f82268f2fefd5cfbc7eeb59c297688be2f6ca0849a6e4f17851b517310841d9b.bin#0"
GROQ = "pydantic-ai/test_tool_use_failed_error_streaming.yaml"


def test_n3_choices_stay_separate() -> None:
    out: Any = reassemble(by_name(N3)).output
    contents = [c["message"]["content"] for c in out["choices"]]
    assert [c["index"] for c in out["choices"]] == [0, 1, 2]
    assert len(set(contents)) == 3
    assert all(json.loads(text) for text in contents)  # structured output, one JSON each
    assert [c["finish_reason"] for c in out["choices"]] == ["stop"] * 3


def test_parallel_tool_calls_are_assembled_by_index() -> None:
    out: Any = reassemble(by_name(PARALLEL)).output
    calls = out["choices"][0]["message"]["tool_calls"]
    assert len(calls) == 2
    assert calls[0]["id"] != calls[1]["id"]
    assert all(c["type"] == "function" and c["id"].startswith("call_") for c in calls)
    assert all(isinstance(json.loads(c["function"]["arguments"]), dict) for c in calls)
    assert out["choices"][0]["message"]["content"] is None


def test_refusal_stream_keeps_refusal_and_no_content() -> None:
    out: Any = reassemble(by_name(REFUSAL)).output
    message = out["choices"][0]["message"]
    assert message["content"] is None
    assert message["refusal"].startswith("I'm sorry")


def test_logprobs_are_concatenated_per_kind() -> None:
    out: Any = reassemble(by_name(LOGPROBS)).output
    choice = out["choices"][0]
    tokens = [entry["token"] for entry in choice["logprobs"]["content"]]
    assert "".join(tokens) == choice["message"]["content"]
    assert choice["logprobs"]["refusal"] is None
    refused: Any = reassemble(by_name(REFUSAL_LOGPROBS)).output
    logprobs = refused["choices"][0]["logprobs"]
    assert logprobs["content"] is None
    refusal_tokens = "".join(entry["token"] for entry in logprobs["refusal"])
    assert refusal_tokens == refused["choices"][0]["message"]["refusal"]


def test_stream_without_usage_has_none() -> None:
    result = reassemble(
        by_name("opentelemetry-python-contrib/test_chat_completion_streaming_not_complete.yaml#0")
    )
    assert result.usage is None
    assert result.output is not None and result.output["usage"] is None
    assert result.complete


def test_cached_tokens_from_usage_only_final_chunk() -> None:
    result = reassemble(
        by_name("dd-trace-py/chat_completion_stream_prompt_caching_cache_read.yaml#0")
    )
    assert result.usage is not None
    assert (result.usage.prompt_tokens, result.usage.cached_tokens) == (1420, 1280)
    out: Any = result.output
    assert out["choices"][0]["finish_reason"] == "length"


def test_groq_usage_on_a_chunk_that_still_has_choices() -> None:
    item = by_name(f"{GROQ}#1")
    chunks = payloads(item.body)
    with_usage = [c for _, c in chunks if c.get("usage")]
    assert len(with_usage) == 1 and with_usage[0]["choices"]  # the Groq shape
    result = reassemble(item)
    assert result.usage is not None
    assert result.usage.to_dict() == {
        "prompt_tokens": 304,
        "completion_tokens": 49,
        "total_tokens": 353,
        "cached_tokens": None,
        "reasoning_tokens": 23,
    }
    out: Any = result.output
    assert out["x_groq"]["usage"] == with_usage[0]["usage"]
    assert out["choices"][0]["message"]["tool_calls"][0]["function"]["name"]
    ChatCompletion.model_validate(out)


def test_groq_mid_stream_error_sets_error_and_not_complete() -> None:
    result = reassemble(by_name(f"{GROQ}#0"))
    assert result.error is not None
    assert result.error["code"] == "tool_use_failed"
    assert not result.complete
    out: Any = result.output
    assert out["choices"][0]["message"]["reasoning"]  # what streamed before the error is kept
    assert out["choices"][0]["finish_reason"] is None


def test_responses_incomplete_and_failed() -> None:
    incomplete = reassemble(by_name_path("test_max_tokens/openai_gpt_4o_responses"))
    out: Any = incomplete.output
    assert incomplete.complete and incomplete.error is None
    assert out["status"] == "incomplete"
    assert out["incomplete_details"] == {"reason": "max_output_tokens"}
    failed = reassemble(by_name("vercel-ai/openai-error.1.chunks.txt#0"))
    assert failed.complete
    assert failed.error is not None and failed.error["code"] == "insufficient_quota"
    assert failed.output is not None and failed.output["status"] == "failed"


def by_name_path(fragment: str) -> Interaction:
    """Mirascope files share the name ``stream.yaml``: find one by its fixture path."""
    for path in all_fixtures():
        if fragment in path.as_posix():
            return next(i for i in load(path) if i.is_stream)
    raise LookupError(fragment)


def test_azure_prompt_filter_results_and_empty_first_chunk() -> None:
    for name in (
        "dd-trace-py/azure_chat_completion_streamed.yaml#0",
        "vercel-ai/azure-model-router.1.chunks.txt#0",
        "openllmetry/test_chat_streaming.yaml#0",
    ):
        chunks = payloads(by_name(name).body)
        assert chunks[0][1]["choices"] == [] and not chunks[0][1]["id"]
        out: Any = reassemble(by_name(name)).output
        assert out["prompt_filter_results"] == chunks[0][1]["prompt_filter_results"]
        assert out["id"] and out["model"]
        assert out["choices"][0]["message"]["content"]
        ChatCompletion.model_validate(out)


def test_legacy_function_call_stream() -> None:
    out: Any = reassemble(by_name("dd-trace-py/chat_completion_function_call_streamed.yaml#0"))
    choice = out.output["choices"][0]
    assert choice["finish_reason"] == "function_call"
    assert choice["message"]["function_call"]["name"] == "extract_student_info"
    assert json.loads(choice["message"]["function_call"]["arguments"])["name"] == "David Nguyen"


def test_openrouter_comment_and_trailing_chunk_after_finish() -> None:
    result = reassemble(by_name("langchaingo/TestOpenRouterStreaming.httprr#0"))
    out: Any = result.output
    assert out["choices"][0]["message"]["content"] == "test response"
    assert out["choices"][0]["finish_reason"] == "stop"
    assert out["provider"] == "Venice"
    assert result.usage is not None and result.usage.prompt_tokens == 586


def test_assistants_run_stream_is_kept_as_events() -> None:
    item = by_name("openllmetry/test_streaming_new_assistant.yaml#4")
    result = reassemble(item)
    out: Any = result.output
    names = [e["event"] for e in out["events"]]
    assert names[0] == "thread.run.created" and names[-1] == "done"
    assert out["events"][-1]["data"] == "[DONE]"
    assert out["events"][0]["data"]["object"] == "thread.run"
    assert result.complete and result.model == "gpt-4o-mini"
    assert result.usage is not None and result.usage.total_tokens == 469


# --- robustness ------------------------------------------------------------------------------


def test_malformed_json_is_counted_and_kept_raw() -> None:
    body = (
        b'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",'
        b'"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\n\n'
        b"data: {not json\n\n"
        b'data: "a string"\n\n'
        b'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"!"},'
        b'"finish_reason":"stop"}]}\n\n'
    )
    result = reassemble_stream(Endpoint.of("/v1/chat/completions"), [body])
    assert result.malformed == 2
    assert result.raw_malformed == ["{not json", '"a string"']
    out: Any = result.output
    assert out["choices"][0]["message"]["content"] == "Hi!"
    assert result.complete and result.events == 4


def test_cut_chat_stream_is_not_complete_and_keeps_the_prefix() -> None:
    item = by_name("opentelemetry-python-contrib/test_chat_completion_streaming.yaml#0")
    cut = item.body.index(b'"content":" test"')
    result = reassemble_stream(Endpoint.of(item.path), [item.body[:cut]])
    out: Any = result.output
    assert not result.complete
    assert out["choices"][0]["message"]["content"] == '"This is a'
    assert out["choices"][0]["finish_reason"] is None


def test_responses_cut_mid_text_keeps_the_deltas_seen() -> None:
    item = by_name(
        "opentelemetry-python-contrib/test_responses_create_streaming[content_mode0].yaml#0"
    )
    events = payloads(item.body)
    deltas = [d["delta"] for _, d in events if d["type"] == "response.output_text.delta"]
    cut = item.body.index(b"event: response.output_text.delta")
    cut = item.body.index(b"event: response.output_text.delta", cut + 1)
    cut = item.body.index(b"event: response.output_text.delta", cut + 1)  # two deltas sent
    out: Any = reassemble_stream(Endpoint.of(item.path), [item.body[:cut]]).output
    part = out["output"][0]["content"][0]
    assert part["type"] == "output_text"
    assert part["text"] == "".join(deltas[:2])
    assert out["status"] == "incomplete"


def test_generic_streams_are_capped_with_a_visible_marker() -> None:
    body = b"".join(b'event: tick\ndata: {"n": %d}\n\n' % i for i in range(1500))
    result = reassemble_stream(Endpoint.of("/v1/unknown/stream"), [body])
    out: Any = result.output
    assert len(out["events"]) == MAX_GENERIC_EVENTS
    assert out["omitted_events"] == 500
    assert out["events"][0] == {"event": "tick", "data": {"n": 0}}
    assert result.events == 1500 and not result.complete


@pytest.mark.parametrize(
    ("endpoint", "body", "kind"),
    [
        ("/openai/deployments/x/chat/completions?api-version=1", b"", "chat"),
        ("/v1/responses/", b"", "responses"),
        ("/v1/completions", b"", "completions"),
        ("/v1/responses/resp_1?stream=true", b'data: {"type":"response.created"}\n\n', "responses"),
        ("/proxy/x", b'data: {"object":"chat.completion.chunk"}\n\n', "chat"),
        ("/proxy/x", b'data: {"object":"text_completion"}\n\n', "completions"),
        ("/v1/threads/t/runs", b"event: thread.run.created\ndata: {}\n\n", "generic"),
    ],
)
def test_dispatch_by_path_then_by_events(endpoint: str, body: bytes, kind: str) -> None:
    assert stream_kind(Endpoint.of(endpoint), list(iter_events([body]))) == kind


def test_empty_stream_gives_no_output() -> None:
    for endpoint in ("/v1/chat/completions", "/v1/responses", "/v1/completions"):
        result = reassemble_stream(Endpoint.of(endpoint), [])
        assert result.output is None and result.usage is None and not result.complete
        assert result.events == 0


_KEYS = [
    "id", "object", "model", "created", "choices", "index", "delta", "content", "refusal",
    "tool_calls", "function", "name", "arguments", "function_call", "logprobs", "finish_reason",
    "usage", "prompt_tokens", "type", "response", "output", "output_index", "content_index",
    "summary_index", "item", "part", "text", "error", "annotation", "x_groq", "audio",
]  # fmt: skip
_TYPES = [
    "response.created", "response.completed", "response.failed", "response.output_item.added",
    "response.output_item.done", "response.content_part.added", "response.output_text.delta",
    "response.output_text.done", "response.function_call_arguments.delta", "error",
    "response.reasoning_summary_text.delta", "response.output_text.annotation.added",
    "response.refusal.delta", "response.function_call_arguments.done",
]  # fmt: skip


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 4 or roll < 0.3:
        return rng.choice(
            [None, True, 0, -1, 10**15, 1.5, "", "x", "[DONE]", rng.choice(_TYPES), [], {}]
        )
    if roll < 0.5:
        return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(_KEYS): _random_json(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def _fuzz_body(rng: random.Random) -> bytes:
    parts = []
    for _ in range(rng.randint(0, 30)):
        payload = _random_json(rng)
        if isinstance(payload, dict) and rng.random() < 0.5:
            payload["type"] = rng.choice(_TYPES)
        name = rng.choice(["", "error", rng.choice(_TYPES), "thread.run.failed", "done"])
        event = f"event: {name}\n" if name else ""
        parts.append(f"{event}data: {json.dumps(payload)}\n\n".encode())
    if rng.random() < 0.3:
        parts.append(rng.randbytes(rng.randint(0, 200)))
    return b"".join(parts)


@pytest.mark.parametrize(
    "endpoint", ["/v1/chat/completions", "/v1/responses", "/v1/completions", "/v1/other"]
)
def test_survives_random_payloads_and_garbage(endpoint: str) -> None:
    rng = random.Random(endpoint)
    for _ in range(300):
        body = _fuzz_body(rng)
        result = reassemble_stream(
            Endpoint.of(endpoint), _random_chunks(body, rng) if len(body) > 1 else [body]
        )
        assert isinstance(result, Reassembled)
        json.dumps(result.output)  # always JSON-serialisable


@pytest.mark.parametrize(("name", "item"), STREAMS[::3], ids=IDS[::3])
def test_survives_mutated_fixtures(name: str, item: Interaction) -> None:
    rng = random.Random(name)
    for endpoint in ("/v1/chat/completions", "/v1/responses", "/v1/completions", "/v1/x"):
        for _ in range(5):
            body = bytearray(item.body)
            for _ in range(rng.randint(1, 20)):
                body[rng.randrange(len(body))] = rng.randrange(256)
            result = reassemble_stream(
                Endpoint.of(endpoint), [bytes(body[: rng.randrange(len(body))])]
            )
            json.dumps(result.output)


def test_reassemblers_accept_plain_event_lists() -> None:
    from wiretrace_proxy.record.reassemble import reassemble_chat

    result = reassemble_chat(
        [SSEEvent("message", '{"choices":[{"index":0,"delta":{"content":"x"}}]}')]
    )
    out: Any = result.output
    assert out["choices"][0]["message"]["content"] == "x"


def _chat(*chunks: dict[str, Any]) -> Reassembled:
    body = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
    return reassemble_stream(Endpoint.of("/v1/chat/completions"), [body])


def _tool_delta(call: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    choice = {"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": finish}
    return {"choices": [choice]}


def test_tool_call_id_and_type_repeated_on_every_fragment_are_kept_once() -> None:
    """Some OpenAI-compatible servers resend ``id``/``type`` with each fragment; the SDK's
    accumulator would concatenate them into ``call_1call_1``."""
    same = {"index": 0, "id": "call_1", "type": "function"}
    result = _chat(
        _tool_delta({**same, "function": {"name": "f", "arguments": '{"a"'}}),
        _tool_delta({**same, "function": {"arguments": ":1}"}}, "tool_calls"),
    )
    out: Any = result.output
    (call,) = out["choices"][0]["message"]["tool_calls"]
    function = {"name": "f", "arguments": '{"a":1}'}
    assert call == {"id": "call_1", "type": "function", "function": function}
    assert result.complete


def test_tool_call_fragments_without_index_follow_their_id() -> None:
    result = _chat(
        _tool_delta({"id": "a", "function": {"name": "f", "arguments": "{"}}),
        _tool_delta({"function": {"arguments": "}"}}),
        _tool_delta({"id": "b", "function": {"name": "g", "arguments": "{}"}}),
    )
    out: Any = result.output
    calls = out["choices"][0]["message"]["tool_calls"]
    assert [(c["id"], c["function"]["arguments"]) for c in calls] == [("a", "{}"), ("b", "{}")]


def test_error_payload_without_event_name_is_a_mid_stream_error() -> None:
    result = _chat(
        {"id": "c", "choices": [{"index": 0, "delta": {"content": "Hel"}}]},
        {"error": {"message": "The server had an error", "type": "server_error", "code": None}},
    )
    assert result.error == {
        "message": "The server had an error",
        "type": "server_error",
        "code": None,
    }
    assert not result.complete
    out: Any = result.output
    assert out["choices"][0]["message"]["content"] == "Hel"


def test_complete_needs_a_finish_reason_on_every_choice() -> None:
    first = {"index": 0, "delta": {"content": "a"}, "finish_reason": "stop"}
    second = {"index": 1, "delta": {"content": "b"}, "finish_reason": None}
    assert not _chat({"choices": [first, second]}).complete
    assert _chat({"choices": [first, {**second, "finish_reason": "length"}]}).complete


def test_openrouter_style_error_on_a_chunk_with_choices() -> None:
    """OpenRouter docs ("Streaming", mid-stream errors): the error rides on a chunk whose
    choice ends with ``finish_reason: "error"``; the text before it is kept."""
    error = {"code": "server_error", "message": "Provider disconnected unexpectedly"}
    result = _chat(
        {"id": "g", "choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}]},
        {
            "id": "g",
            "error": error,
            "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
        },
    )
    assert result.error == error
    assert not result.complete
    out: Any = result.output
    assert out["choices"][0]["message"]["content"] == "Hel"
    assert out["choices"][0]["finish_reason"] == "error"
    assert "error" not in out


def test_null_error_field_is_not_an_error() -> None:
    choice = {"index": 0, "delta": {"content": "ok"}, "finish_reason": "stop"}
    result = _chat({"id": "c", "error": None, "choices": [choice]})
    assert result.error is None and result.complete


def test_legacy_completion_logprobs_lists_are_concatenated() -> None:
    """API reference, legacy completions ``logprobs``: parallel lists per chunk (no recorded
    stream with logprobs exists, see SOURCES.md gaps)."""

    def chunk(text: str, offset: int, finish: str | None) -> dict[str, Any]:
        logprobs = {
            "tokens": [text],
            "token_logprobs": [-0.5],
            "top_logprobs": [{text: -0.5}],
            "text_offset": [offset],
        }
        choice = {"index": 0, "text": text, "logprobs": logprobs, "finish_reason": finish}
        return {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": "m",
                "choices": [choice]}  # fmt: skip

    body = b"".join(
        b"data: " + json.dumps(c).encode() + b"\n\n"
        for c in (chunk("Hel", 0, None), chunk("lo", 3, "stop"))
    )
    result = reassemble_stream(Endpoint.of("/v1/completions"), [body + b"data: [DONE]\n\n"])
    out: Any = result.output
    choice = out["choices"][0]
    assert choice["text"] == "Hello"
    assert choice["logprobs"]["tokens"] == ["Hel", "lo"]
    assert choice["logprobs"]["text_offset"] == [0, 3]
    assert choice["logprobs"]["top_logprobs"] == [{"Hel": -0.5}, {"lo": -0.5}]
    assert result.complete
    Completion.model_validate(out)


def test_failed_assistants_run_reports_its_last_error() -> None:
    last_error = {"code": "rate_limit_exceeded", "message": "slow down"}
    run = {"object": "thread.run", "model": "gpt-4o", "status": "failed", "last_error": last_error}
    body = (
        b"event: thread.run.failed\ndata: " + json.dumps(run).encode() + b"\n\n"
        b"event: done\ndata: [DONE]\n\n"
    )
    result = reassemble_stream(Endpoint.of("/v1/threads/t/runs"), [body])
    assert result.error == last_error
    assert result.complete and result.model == "gpt-4o"
