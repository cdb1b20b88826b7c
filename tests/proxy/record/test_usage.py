"""``usage``: upstream usage normalisation, token estimates, and tokenizers that never block.

Prompt formula: OpenAI cookbook "How to count tokens with tiktoken" (3 per message, +1 per
name, +3 reply priming) and its tools section. Checked exactly against usage the API itself
reported in the recorded fixtures.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import tiktoken.registry
from wiretrace_proxy.callrecord import JSON, JSONObject, Usage
from wiretrace_proxy.endpoints import Endpoint
from wiretrace_proxy.record.reassemble import reassemble_stream
from wiretrace_proxy.record.tokenizers import Tokenizers
from wiretrace_proxy.record.usage import encoding_for_model, estimate_usage, normalise_usage

from tests.conftest import TIKTOKEN_FILES
from tests.fakes.cassettes import all_fixtures, load

# --- normalise_usage -----------------------------------------------------------------------


def test_chat_usage() -> None:
    raw: JSONObject = {
        "prompt_tokens": 1420,
        "completion_tokens": 100,
        "total_tokens": 1520,
        "prompt_tokens_details": {"cached_tokens": 1280, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 7},
    }
    assert normalise_usage(raw) == Usage(1420, 100, 1520, 1280, 7)


def test_responses_usage() -> None:
    raw: JSONObject = {
        "input_tokens": 53,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 469,
        "output_tokens_details": {"reasoning_tokens": 448},
        "total_tokens": 522,
    }
    assert normalise_usage(raw) == Usage(53, 469, 522, 0, 448)


def test_embeddings_usage_has_no_completion() -> None:
    assert normalise_usage({"prompt_tokens": 8, "total_tokens": 8}) == Usage(8, None, 8)


def test_assistants_prompt_token_details_spelling_and_missing_total() -> None:
    raw: JSONObject = {
        "prompt_tokens": 227,
        "completion_tokens": 26,
        "prompt_token_details": {"cached_tokens": 3},
    }
    assert normalise_usage(raw) == Usage(227, 26, 253, 3, None)


@pytest.mark.parametrize(
    "raw",
    [None, [], "usage", 3, {}, {"queue_time": 0.1}, {"prompt_tokens": True}, {"total_tokens": "9"}],
)
def test_no_token_counts_give_none(raw: Any) -> None:
    assert normalise_usage(raw) is None


def _fixture_usages() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in all_fixtures():
        for n, item in enumerate(load(path)):
            if item.is_stream:
                result = reassemble_stream(Endpoint.of(item.path), [item.body])
                raw = result.output.get("usage") if result.output else None
                if isinstance(raw, dict):
                    out.append((f"{path.name}#{n}", raw))
    return out


@pytest.mark.parametrize(("name", "raw"), _fixture_usages(), ids=lambda v: str(v)[:50])
def test_every_recorded_usage_normalises(name: str, raw: dict[str, Any]) -> None:
    usage = normalise_usage(raw)
    assert usage is not None
    prompt = raw.get("prompt_tokens", raw.get("input_tokens"))
    completion = raw.get("completion_tokens", raw.get("output_tokens"))
    assert (usage.prompt_tokens, usage.completion_tokens) == (prompt, completion)
    assert usage.total_tokens == raw["total_tokens"]


# --- encodings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("gpt-4.1-mini", "o200k_base"),
        ("gpt-5-nano", "o200k_base"),
        ("o1-preview", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("o4-mini", "o200k_base"),
        ("ft:gpt-4o-mini:org::abc", "o200k_base"),
        ("openai/gpt-oss-120b", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-0613", "cl100k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-3.5-turbo-0125", "cl100k_base"),
        ("gpt-35-turbo", "cl100k_base"),
        ("text-embedding-3-small", "cl100k_base"),
        ("meta-llama/llama-3.2-3b-instruct", "o200k_base"),
        (None, "o200k_base"),
    ],
)
def test_encoding_for_model(model: str | None, encoding: str) -> None:
    assert encoding_for_model(model) == encoding


# --- estimates with a stand-in encoder (1 token per character) -----------------------------


class CharEncoder:
    def encode_ordinary(self, text: str) -> list[int]:
        return [0] * len(text)


def char_tokenizers() -> Tokenizers:
    tokenizers = Tokenizers(loader=lambda name: CharEncoder())
    for name in ("o200k_base", "cl100k_base"):
        tokenizers.get(name)  # starts the load
    assert tokenizers.wait(5)
    return tokenizers


def test_chat_prompt_formula_and_completion_parts() -> None:
    request: JSONObject = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "be"},
            {"role": "user", "name": "bo", "content": [{"type": "text", "text": "hi"}]},
            {"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]},
        ],
    }
    output: JSONObject = {
        "choices": [
            {"message": {"content": "abc", "refusal": None}},
            {"message": {"content": None, "refusal": "no"}},
            {"message": {"tool_calls": [{"function": {"name": "g", "arguments": "{1}"}}]}},
        ]
    }
    estimate = estimate_usage("gpt-4o", request, output, char_tokenizers())
    # system: 3+6+2; user: 3+4+(2+1)+2; assistant: 3+9+(1+2); priming 3
    assert estimate.usage.prompt_tokens == 11 + 12 + 15 + 3
    assert estimate.usage.completion_tokens == 3 + 2 + (1 + 3)
    assert estimate.usage.total_tokens == 41 + 9
    assert estimate.method == "tiktoken:o200k_base"


def test_responses_and_completions_requests_and_outputs() -> None:
    tokenizers = char_tokenizers()
    request: JSONObject = {"instructions": "sys", "input": "hello"}
    output: JSONObject = {
        "output": [
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "hm"}]},
            {"type": "message", "content": [{"type": "output_text", "text": "yo"}]},
            {"type": "function_call", "name": "f", "arguments": "{}"},
        ]
    }
    estimate = estimate_usage("gpt-5", request, output, tokenizers)
    assert estimate.usage.prompt_tokens == (3 + 6 + 3) + (3 + 4 + 5) + 3
    assert estimate.usage.completion_tokens == 2 + 2 + 3
    completions = estimate_usage(
        "gpt-3.5-turbo-instruct",
        {"prompt": ["ab", "cde"]},
        {"choices": [{"text": "xyz"}]},
        tokenizers,
    )
    assert (completions.usage.prompt_tokens, completions.usage.completion_tokens) == (5, 3)
    assert completions.method == "tiktoken:cl100k_base"


def test_tools_are_counted_by_the_cookbook_formula() -> None:
    tool: JSONObject = {
        "type": "function",
        "function": {
            "name": "get",
            "description": "Gets.",
            "parameters": {
                "type": "object",
                "properties": {"unit": {"type": "string", "description": "U.", "enum": ["c", "f"]}},
            },
        },
    }
    with_tools = estimate_usage("gpt-4o", {"tools": [tool]}, None, char_tokenizers())
    # 12 end + 7 start + "get:Gets" 8 + 3 properties + 3 key + "unit:string:U" 13 + enum (-3+4+4)
    assert with_tools.usage.prompt_tokens == 12 + 7 + 8 + 3 + 3 + 13 + 5
    flat: JSONObject = {"type": "function", "name": "get", "description": "Gets.", "parameters": {}}
    assert estimate_usage("gpt-4o", {"tools": [flat]}, None, char_tokenizers()).usage == Usage(
        12 + 7 + 8, 0, 27
    )


@pytest.mark.parametrize("junk", [None, "text", 5, [], {"messages": "x", "input": 3}])
def test_estimates_of_junk_are_zero_not_errors(junk: Any) -> None:
    estimate = estimate_usage(None, junk, junk, char_tokenizers())
    assert estimate.usage == Usage(0, 0, 0)


def test_special_token_text_is_counted_not_rejected() -> None:
    text = "<|endoftext|> is just text here"
    estimate = estimate_usage(None, {"prompt": text}, None, char_tokenizers())
    assert estimate.usage.prompt_tokens == len(text)


# --- tokenizer loading ---------------------------------------------------------------------


def test_estimate_is_rough_and_immediate_while_the_tokenizer_loads() -> None:
    release = threading.Event()
    calls: list[str] = []

    def slow_loader(name: str) -> CharEncoder:
        calls.append(name)
        release.wait(30)
        return CharEncoder()

    tokenizers = Tokenizers(loader=slow_loader)
    request: JSONObject = {"messages": [{"role": "user", "content": "x" * 40}]}
    for _ in range(20):
        estimate = estimate_usage("gpt-4o", request, None, tokenizers)
        assert estimate.method == "chars/4"
    assert estimate.usage.prompt_tokens == 3 + 1 + 10 + 3  # "user" rounds up to 1
    assert not tokenizers.wait(0.05)
    assert calls == ["o200k_base"]  # one load, however many estimates asked
    release.set()
    assert tokenizers.wait(10)
    assert estimate_usage("gpt-4o", request, None, tokenizers).method == "tiktoken:o200k_base"


def test_failed_load_stays_rough_logs_once_and_retries_only_after_the_delay(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[str] = []

    def offline(name: str) -> CharEncoder:
        calls.append(name)
        raise OSError("network unreachable")

    caplog.set_level(logging.WARNING, logger="wiretrace_proxy.record.tokenizers")
    slow_retry = Tokenizers(loader=offline)
    slow_retry.get("o200k_base")
    assert slow_retry.wait(5)
    assert estimate_usage("gpt-4o", {"prompt": "abcd"}, None, slow_retry).method == "chars/4"
    assert calls == ["o200k_base"] and slow_retry.failures == 1

    eager_retry = Tokenizers(loader=offline, retry_after=0)
    for _ in range(3):
        eager_retry.get("cl100k_base")
        assert eager_retry.wait(5)
    assert eager_retry.failures == 3
    warnings = [r for r in caplog.records if "tokenizer cl100k_base unavailable" in r.message]
    assert len(warnings) == 1


def test_offline_tiktoken_with_empty_cache_returns_rough_estimate_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real tiktoken loader, an empty cache and no way out: nothing may wait on it."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # discard port: connection refused
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})  # forget encodings loaded earlier
    tokenizers = Tokenizers()
    started = time.monotonic()
    estimate = estimate_usage("gpt-4o", {"prompt": "hello world"}, None, tokenizers)
    assert time.monotonic() - started < 1.0
    assert estimate.method == "chars/4"
    assert estimate.usage.prompt_tokens == 3
    assert tokenizers.wait(60)
    assert not tokenizers.ready("o200k_base") and tokenizers.failures == 1
    assert estimate_usage("gpt-4o", {"prompt": "hi"}, None, tokenizers).method == "chars/4"
    assert os.listdir(tmp_path) == []


# --- exact counts with the real encodings --------------------------------------------------

_MAX_TOKENS = "mirascope/output/cassettes/test_max_tokens"
_OTEL = "opentelemetry-python-contrib"
_ELASTIC = "elastic-otel-python-instrumentations"
EXACT = [
    # fixture, interaction, encoding: the API's own usage equals the estimate
    (f"{_OTEL}/test_chat_completion_streaming.yaml", 0, "cl100k_base"),
    ("langchaingo/TestClient_CreateChatCompletionStream.httprr", 0, "cl100k_base"),
    (f"{_ELASTIC}/test_chat_stream_with_include_usage_option.yaml", 0, "o200k_base"),
    ("dd-trace-py/chat_completion_stream_prompt_caching_cache_read.yaml", 0, "o200k_base"),
    (f"{_OTEL}/test_chat_completion_multiple_choices_streaming.yaml", 0, "o200k_base"),
    (f"{_MAX_TOKENS}/openai_gpt_4o_completions/stream.yaml", 0, "o200k_base"),
    (f"{_MAX_TOKENS}/openai_gpt_4o_responses/stream.yaml", 0, "o200k_base"),
]  # fmt: skip


@pytest.fixture(scope="module")
def real_tokenizers() -> Tokenizers:
    """Both encodings, loaded from the repository's copy (``tests/conftest.py`` sets the cache)."""
    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(TIKTOKEN_FILES)
    tokenizers = Tokenizers()
    for name in ("o200k_base", "cl100k_base"):
        tokenizers.get(name)  # starts the load
    assert tokenizers.wait(120)
    assert tokenizers.ready("o200k_base") and tokenizers.ready("cl100k_base")
    return tokenizers


@pytest.mark.parametrize(("fixture", "index", "encoding"), EXACT, ids=[e[0] for e in EXACT])
def test_estimates_equal_the_usage_the_api_reported(
    real_tokenizers: Tokenizers, fixture: str, index: int, encoding: str
) -> None:
    item = load(fixture)[index]
    assert item.request_body is not None
    request = json.loads(item.request_body)
    result = reassemble_stream(Endpoint.of(item.path), [item.body])
    assert result.usage is not None
    estimate = estimate_usage(request["model"], request, result.output, real_tokenizers)
    assert estimate.method == f"tiktoken:{encoding}"
    assert estimate.usage.prompt_tokens == result.usage.prompt_tokens
    assert estimate.usage.completion_tokens == result.usage.completion_tokens


def test_tool_schema_estimate_matches_the_api_on_a_recorded_call(
    real_tokenizers: Tokenizers,
) -> None:
    item = load(f"{_OTEL}/test_chat_completion_multiple_tools_streaming_with_content.yaml")[0]
    assert item.request_body is not None
    request = json.loads(item.request_body)
    result = reassemble_stream(Endpoint.of(item.path), [item.body])
    estimate = estimate_usage(request["model"], request, result.output, real_tokenizers)
    assert result.usage is not None
    assert estimate.usage.prompt_tokens == result.usage.prompt_tokens == 75


def test_exact_counts_are_tiktoken_counts(real_tokenizers: Tokenizers) -> None:
    text = "Ünïcödé, emoji 😀 and <|endoftext|>"
    encoder = real_tokenizers.get("o200k_base")
    assert encoder is not None
    request: JSONObject = {"messages": [{"role": "user", "content": text}]}
    estimate = estimate_usage("gpt-4o", request, {"choices": [{"text": text}]}, real_tokenizers)
    n = len(encoder.encode_ordinary(text))
    assert estimate.usage == Usage(3 + 1 + n + 3, n, 7 + 2 * n)


@pytest.mark.parametrize("bad", [-5, 2.5, "7", True, 2**31, 10**30, float("nan")], ids=repr)
def test_unusable_token_counts_are_dropped(bad: JSON) -> None:
    assert (
        normalise_usage({"prompt_tokens": bad, "completion_tokens": bad, "total_tokens": bad})
        is None
    )
    usage = normalise_usage({"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": bad})
    assert usage is not None and usage.total_tokens == 7  # filled in as if left out
