"""``tests/fakes/cassettes.py``: every recorded format loads into faithful ``Interaction``s."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.fakes.cassettes import FIXTURES, Interaction, all_fixtures, header, load

FIXTURE_IDS = [p.relative_to(FIXTURES).as_posix() for p in all_fixtures()]


def test_fixture_set_matches_sources_md() -> None:
    """SOURCES.md names exactly the files present, so every file's origin is on record."""
    listed = re.findall(r"^\| `([^`]+)` \|", (FIXTURES / "SOURCES.md").read_text(), re.M)
    assert sorted(listed) == FIXTURE_IDS
    assert len(FIXTURE_IDS) >= 50


@pytest.mark.parametrize("relative", FIXTURE_IDS)
def test_every_fixture_loads(relative: str) -> None:
    interactions = load(relative)
    assert interactions
    for item in interactions:
        assert item.method in {"GET", "POST", "DELETE"}
        assert item.path.startswith("/")
        assert item.endpoint.startswith("/v1/")
        assert 200 <= item.status < 600
        assert item.body
        if item.is_stream:
            assert item.body.lstrip().startswith((b"data:", b"event:", b":"))
        elif "json" in item.content_type:
            json.loads(item.body)
        if item.request_body is not None and item.method == "POST":
            json.loads(item.request_body)


def test_load_accepts_absolute_paths_and_rejects_unknown_formats(tmp_path: Path) -> None:
    relative = "openai-python/4cc50a6135d254573a502310e6af1246f55edb6ad95fa24059f160996b68866d.bin"
    assert load(FIXTURES / relative) == load(relative)
    odd = tmp_path / "x.json"
    odd.write_text("{}")
    with pytest.raises(ValueError, match="unknown fixture format"):
        load(odd)


def test_vcrpy_gzip_binary_bodies_are_decompressed_and_wire_bytes_kept() -> None:
    first = load("openllmetry/test_streaming_new_assistant.yaml")[0]
    assert first.content_encoding == "gzip"
    assert first.wire_body[:2] == b"\x1f\x8b"
    assert json.loads(first.body)["object"] == "assistant"
    run = load("openllmetry/test_streaming_new_assistant.yaml")[-1]
    assert run.is_stream and run.path.endswith("/runs")
    assert run.body.startswith(b"event: thread.run.created\ndata: {")


def test_ruby_vcr_binary_bodies_are_base64_decoded() -> None:
    items = load(
        "ruby_llm/chat_function_calling_openai_gpt-5-nano_can_use_tools_with_multi-turn_"
        "streaming_conversations.yml"
    )
    assert len(items) == 4
    assert all(i.method == "POST" and i.path == "/v1/responses" for i in items)
    assert all(i.body.startswith(b"event: response.created\ndata: ") for i in items)
    # the !binary bodies hold UTF-8 text VCR could not store as plain YAML
    assert any(not i.body.isascii() for i in items)
    for item in items:
        item.body.decode("utf-8")


def test_pydantic_ai_parsed_body_is_serialised_as_json() -> None:
    (item,) = load("pydantic-ai/test_model_name_suggestion[openai-chat].yaml")
    assert item.status == 404
    assert json.loads(item.body)["error"]["code"] == "model_not_found"
    assert item.request_body is not None
    assert json.loads(item.request_body)["model"] == "gpt-5.2-proo"


def test_httpx_style_cassette_uses_content_and_status_code() -> None:
    (item,) = load("dd-trace-py/chat_completion_error.yaml")
    assert item.status == 401
    assert json.loads(item.body)["error"]["code"] == "invalid_api_key"


def test_httprr_keeps_full_headers_and_both_exchanges() -> None:
    stream, limited = load("langchaingo/TestOpenRouterStreaming.httprr")
    assert (stream.status, limited.status) == (200, 429)
    assert stream.host == "openrouter.ai" and stream.endpoint == "/v1/chat/completions"
    assert stream.body.startswith(b": OPENROUTER PROCESSING\n\ndata: {")
    assert header(limited.headers, "x-ratelimit-remaining") == "0"
    assert json.loads(limited.body)["error"]["code"] == 429
    (openai,) = load("langchaingo/TestClient_CreateChatCompletionStream.httprr")
    assert header(openai.headers, "X-Request-Id") == "req_87b8e5a94cce414688e29d59b127eb67"
    assert openai.request_body is not None
    assert json.loads(openai.request_body)["stream"] is True
    assert len(openai.body) == int(header(openai.headers, "content-length") or 0)


def test_openai_python_bin_is_a_chat_stream() -> None:
    (item,) = load(
        "openai-python/e2aad469b71d1d4894ff833ea147020a9d875eb7ce644a0ff355581690a4cbfd.bin"
    )
    assert (item.method, item.path, item.status, item.request_body) == (
        "POST",
        "/v1/chat/completions",
        200,
        None,
    )
    assert item.is_stream and item.body.endswith(b"data: [DONE]\n\n")


@pytest.mark.parametrize(
    ("name", "path", "first_event"),
    [
        ("openai-error.1.chunks.txt", "/v1/responses", b"event: response.created\ndata: {"),
        ("azure-model-router.1.chunks.txt", "/v1/chat/completions", b'data: {"choices":[]'),
        ("openai-completion-text.chunks.txt", "/v1/completions", b'data: {"id":"cmpl-'),
    ],
)
def test_vercel_chunks_become_sse_with_endpoint_from_payloads(
    name: str, path: str, first_event: bytes
) -> None:
    (item,) = load(f"vercel-ai/{name}")
    lines = (FIXTURES / "vercel-ai" / name).read_bytes().strip().splitlines()
    assert item.path == path
    assert item.body.startswith(first_event)
    assert item.body.count(b"data: ") == len(lines)
    assert b"[DONE]" not in item.body


def test_endpoint_strips_provider_prefixes() -> None:
    groq = load("pydantic-ai/test_tool_use_failed_error_streaming.yaml")[0]
    assert groq.path == "/openai/v1/chat/completions"
    assert groq.endpoint == "/v1/chat/completions"
    azure = load("dd-trace-py/azure_chat_completion_streamed.yaml")[0]
    assert azure.query == "api-version=2023-07-01-preview"
    assert azure.path == "//openai/deployments/test-openai/chat/completions"  # as recorded
    assert azure.endpoint == "/v1/chat/completions"


def test_interaction_is_plain_immutable_data() -> None:
    item = load("opentelemetry-python-contrib/test_chat_completion_404.yaml")[0]
    assert isinstance(item, Interaction)
    with pytest.raises(AttributeError):
        item.status = 200  # type: ignore[misc]
