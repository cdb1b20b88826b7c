"""The real ``openai`` SDK through the proxy vs. straight to the fake upstream.

Each test checks what a user would notice: the client gets exactly what it gets without the
proxy (``docs/architecture.md``, "Principles": transparent first), and the record holds the
call (output, usage, status, timings).
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.fakes.fake_streams import ANSWER, REFUSAL
from tests.harness import Servers, inputs, output

KEY = "sk-proj-testkey1234567890abcdefABCDEF"
MESSAGES: list[Any] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Say hi"},
]


def clients(servers: Servers, **kw: Any) -> tuple[openai.OpenAI, openai.OpenAI]:
    direct = openai.OpenAI(api_key=KEY, base_url=servers.upstream_url + "/v1", **kw)
    proxied = openai.OpenAI(api_key=KEY, base_url=servers.base_url, **kw)
    return direct, proxied


def test_chat_non_stream_identical_and_recorded(servers: Servers) -> None:
    direct, proxied = clients(servers)
    want = direct.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    raw = proxied.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    got = raw.parse()
    assert got.model_dump() == want.model_dump()
    call_id = raw.headers["wiretrace-call-id"]
    rec = servers.record(call_id)
    assert rec.op_name == "openai.chat.completions.create"
    assert rec.status == "ok" and rec.http_status == 200
    assert rec.model == "gpt-4o-mini" and rec.response_model == "gpt-4o-mini-2024-07-18"
    # The output is the response body the client got, as JSON (not a re-serialised SDK model).
    assert rec.output == json.loads(raw.http_response.content)
    assert rec.output == want.model_dump(mode="json", exclude_unset=True)
    assert output(rec)["choices"][0]["message"]["content"] == ANSWER
    assert isinstance(rec.inputs, dict) and inputs(rec)["messages"] == MESSAGES
    assert rec.usage is not None and rec.usage.total_tokens == want.usage.total_tokens  # type: ignore[union-attr]
    assert rec.usage_source == "upstream"
    assert rec.latency_ms is not None and rec.latency_ms > 0
    assert rec.ttft_ms is None
    assert rec.overhead_ms is not None and 0 <= rec.overhead_ms <= rec.latency_ms


def test_stream_without_usage_option_is_identical_and_usage_injected(servers: Servers) -> None:
    direct, proxied = clients(servers)
    want = [
        c.model_dump()
        for c in direct.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    ]
    got = [
        c.model_dump()
        for c in proxied.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        )
    ]
    assert got == want
    assert all(c.get("usage") is None for c in got)
    upstream_saw = json.loads(servers.fake.last("/v1/chat/completions").body)
    assert upstream_saw["stream_options"] == {"include_usage": True}
    (rec,) = servers.records()
    assert rec.usage_source == "injected"
    assert rec.usage is not None and rec.usage.completion_tokens == len(ANSWER.split())
    assert isinstance(rec.output, dict)
    assert output(rec)["object"] == "chat.completion"
    assert output(rec)["choices"][0]["message"]["content"] == ANSWER
    assert output(rec)["choices"][0]["finish_reason"] == "stop"
    assert rec.ttft_ms is not None and 0 < rec.ttft_ms <= (rec.latency_ms or 0)
    assert isinstance(rec.inputs, dict) and "stream_options" not in rec.inputs


def test_stream_with_usage_option_passes_usage_through(servers: Servers) -> None:
    direct, proxied = clients(servers)
    kw: dict[str, Any] = dict(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    want = [c.model_dump() for c in direct.chat.completions.create(**kw)]
    got = [c.model_dump() for c in proxied.chat.completions.create(**kw)]
    assert got == want and got[-1]["usage"]["total_tokens"] > 0
    (rec,) = servers.records()
    assert rec.usage_source == "upstream"
    assert rec.usage is not None and rec.usage.total_tokens == got[-1]["usage"]["total_tokens"]


@pytest.mark.parametrize("scenario", ["tools", "parallel_tools"])
def test_stream_tool_calls_assembled(servers: Servers, scenario: str) -> None:
    direct, proxied = clients(servers)
    kw: dict[str, Any] = dict(
        model="gpt-4o", messages=MESSAGES, stream=True, extra_headers={"x-fake-scenario": scenario}
    )
    want = [c.model_dump() for c in direct.chat.completions.create(**kw)]
    got = [c.model_dump() for c in proxied.chat.completions.create(**kw)]
    assert got == want
    (rec,) = servers.records()
    assert isinstance(rec.output, dict)
    message = output(rec)["choices"][0]["message"]
    calls = message["tool_calls"]
    assert [c["id"] for c in calls] == (
        ["call_weather_paris"]
        if scenario == "tools"
        else ["call_weather_paris", "call_weather_tokyo"]
    )
    assert json.loads(calls[0]["function"]["arguments"]) == {"city": "Paris", "unit": "celsius"}
    assert calls[0]["function"]["name"] == "get_weather"
    assert output(rec)["choices"][0]["finish_reason"] == "tool_calls"


def test_stream_n2_logprobs(servers: Servers) -> None:
    direct, proxied = clients(servers)
    kw: dict[str, Any] = dict(model="gpt-4o", messages=MESSAGES, stream=True, n=2, logprobs=True)
    want = [c.model_dump() for c in direct.chat.completions.create(**kw)]
    got = [c.model_dump() for c in proxied.chat.completions.create(**kw)]
    assert got == want
    (rec,) = servers.records()
    assert isinstance(rec.output, dict)
    choices = output(rec)["choices"]
    assert [c["index"] for c in choices] == [0, 1]
    assert choices[0]["message"]["content"] == ANSWER
    assert choices[1]["message"]["content"] == f"{ANSWER} (choice 1)"
    tokens = "".join(t["token"] for t in choices[0]["logprobs"]["content"])
    assert tokens == ANSWER


def test_stream_refusal(servers: Servers) -> None:
    _direct, proxied = clients(servers)
    chunks = list(
        proxied.chat.completions.create(
            model="gpt-4o",
            messages=MESSAGES,
            stream=True,
            extra_headers={"x-fake-scenario": "refusal"},
        )
    )
    assert "".join(c.choices[0].delta.refusal or "" for c in chunks if c.choices) == REFUSAL
    (rec,) = servers.records()
    assert isinstance(rec.output, dict)
    assert output(rec)["choices"][0]["message"]["refusal"] == REFUSAL
    assert output(rec)["choices"][0]["message"]["content"] is None


async def test_async_responses_stream(servers: Servers) -> None:
    direct = openai.AsyncOpenAI(api_key=KEY, base_url=servers.upstream_url + "/v1")
    proxied = openai.AsyncOpenAI(api_key=KEY, base_url=servers.base_url)
    want = [
        e.model_dump()
        async for e in await direct.responses.create(model="gpt-4o", input="Say hi", stream=True)
    ]
    got = [
        e.model_dump()
        async for e in await proxied.responses.create(model="gpt-4o", input="Say hi", stream=True)
    ]
    assert got == want
    (rec,) = servers.records()
    assert rec.op_name == "openai.responses.create"
    assert isinstance(rec.output, dict) and output(rec)["object"] == "response"
    assert output(rec)["status"] == "completed"
    assert output(rec)["output"][0]["content"][0]["text"] == ANSWER
    assert rec.usage_source == "upstream" and rec.usage is not None
    assert rec.usage.prompt_tokens == want[-1]["response"]["usage"]["input_tokens"]
    await direct.close()
    await proxied.close()


async def test_async_chat_non_stream(servers: Servers) -> None:
    proxied = openai.AsyncOpenAI(api_key=KEY, base_url=servers.base_url)
    got = await proxied.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert got.choices[0].message.content == ANSWER
    await proxied.close()
    (rec,) = servers.records()
    assert rec.status == "ok"


def test_legacy_completions_stream(servers: Servers) -> None:
    direct, proxied = clients(servers)
    want = [
        c.model_dump()
        for c in direct.completions.create(
            model="gpt-3.5-turbo-instruct", prompt="Say hi", stream=True
        )
    ]
    got = [
        c.model_dump()
        for c in proxied.completions.create(
            model="gpt-3.5-turbo-instruct", prompt="Say hi", stream=True
        )
    ]
    assert got == want
    (rec,) = servers.records()
    assert rec.op_name == "openai.completions.create"
    assert isinstance(rec.output, dict) and output(rec)["object"] == "text_completion"
    assert output(rec)["choices"][0]["text"] == ANSWER
    assert rec.usage_source == "injected"


def test_embeddings_summarised(servers: Servers) -> None:
    direct, proxied = clients(servers)
    kw: dict[str, Any] = dict(model="text-embedding-3-small", input=["a b", "c"], dimensions=16)
    want = direct.embeddings.create(**kw)
    got = proxied.embeddings.create(**kw)
    assert got.model_dump() == want.model_dump()
    (rec,) = servers.records()
    assert rec.op_name == "openai.embeddings.create"
    assert isinstance(rec.output, dict)
    assert output(rec)["embeddings"] == {"count": 2, "dimensions": 16, "stored": False}
    assert "data" not in rec.output
    assert isinstance(rec.inputs, dict) and inputs(rec)["input"] == ["a b", "c"]
    assert rec.usage is not None and rec.usage.prompt_tokens == 3


def test_multipart_upload(servers: Servers) -> None:
    _direct, proxied = clients(servers)
    audio = b"RIFF" + bytes(range(256)) * 400
    result = proxied.audio.transcriptions.create(model="whisper-1", file=("hello.wav", audio))
    assert result.text == f"received {servers.fake.last().headers['content-length']} bytes"
    (rec,) = servers.records()
    assert rec.op_name == "openai.audio.transcriptions.create"
    assert isinstance(rec.inputs, dict)
    assert inputs(rec)["fields"] == {"model": "whisper-1"}
    assert inputs(rec)["files"][0]["filename"] == "hello.wav"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
        (429, openai.RateLimitError),
        (500, openai.InternalServerError),
    ],
)
def test_upstream_errors_pass_through(
    servers: Servers, status: int, error: type[Exception]
) -> None:
    direct, proxied = clients(servers, max_retries=0)
    kw: dict[str, Any] = dict(
        model="gpt-4o", messages=MESSAGES, extra_headers={"x-fake-scenario": f"error_{status}"}
    )
    with pytest.raises(error) as want:
        direct.chat.completions.create(**kw)
    with pytest.raises(error) as got:
        proxied.chat.completions.create(**kw)
    assert got.value.status_code == want.value.status_code == status  # type: ignore[attr-defined]
    assert got.value.body == want.value.body  # type: ignore[attr-defined]
    (rec,) = servers.records()
    assert rec.status == "error" and rec.http_status == status
    assert rec.error is not None and rec.error["message"] == want.value.body["message"]  # type: ignore[attr-defined]
    assert rec.usage is None


def test_error_on_stream_request(servers: Servers) -> None:
    _direct, proxied = clients(servers, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        proxied.chat.completions.create(
            model="gpt-4o",
            messages=MESSAGES,
            stream=True,
            extra_headers={"x-fake-scenario": "error_401"},
        )
    (rec,) = servers.records()
    assert rec.status == "error" and rec.http_status == 401
    assert rec.usage is None


def test_midstream_error_event(servers: Servers) -> None:
    direct, proxied = clients(servers, max_retries=0)
    kw: dict[str, Any] = dict(
        model="gpt-4o",
        messages=MESSAGES,
        stream=True,
        extra_headers={"x-fake-scenario": "midstream_error"},
    )
    with pytest.raises(openai.APIError) as want:
        list(direct.chat.completions.create(**kw))
    with pytest.raises(openai.APIError) as got:
        list(proxied.chat.completions.create(**kw))
    assert str(got.value) == str(want.value)
    (rec,) = servers.records()
    assert rec.status == "error"
    assert rec.error is not None and rec.error["type"] == "server_error"
    assert isinstance(rec.output, dict)
    partial = output(rec)["choices"][0]["message"]["content"]
    assert partial and ANSWER.startswith(partial)
    assert rec.usage_source == "estimated" and rec.usage is not None


def test_upstream_drops_connection_mid_stream(servers: Servers) -> None:
    _direct, proxied = clients(servers, max_retries=0)
    with pytest.raises(openai.APIError):
        list(
            proxied.chat.completions.create(
                model="gpt-4o",
                messages=MESSAGES,
                stream=True,
                extra_headers={"x-fake-scenario": "midstream_drop"},
            )
        )
    (rec,) = servers.records()
    assert rec.status == "error"
    assert rec.error is not None and rec.error["type"] == "upstream_disconnected"
    assert isinstance(rec.output, dict)
    assert ANSWER.startswith(output(rec)["choices"][0]["message"]["content"])
    assert rec.usage_source == "estimated"


def test_upstream_rejecting_usage_option_gets_app_request(servers: Servers) -> None:
    _direct, proxied = clients(servers, max_retries=0)
    chunks = list(
        proxied.chat.completions.create(
            model="local-model",
            messages=MESSAGES,
            stream=True,
            extra_headers={"x-fake-scenario": "reject_stream_options"},
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ANSWER
    bodies = [json.loads(s.body) for s in servers.fake.seen]
    assert ["stream_options" in b for b in bodies] == [True, False]
    (rec,) = servers.records()
    assert rec.status == "ok"
    assert rec.usage_source == "estimated"
    assert rec.usage is not None and (rec.usage.completion_tokens or 0) > 0
