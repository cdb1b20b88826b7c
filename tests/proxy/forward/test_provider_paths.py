"""Other providers' API paths through the reverse proxy, with the real ``openai`` SDK.

``AzureOpenAI`` pointed at the proxy (``azure_endpoint``), and ``OpenAI`` with Groq-,
OpenRouter- and Gemini-style base URLs: each call reaches the upstream on the path and query
the app sent, the app gets what it gets without the proxy, and the record has the same op
name, usage and reassembled output as an OpenAI call. Azure's deployment is the record's
model, and its ``api-key`` reaches the upstream but is never stored.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.endpoints import Endpoint
from wiretrace_proxy.record.reassemble import reassemble_stream

from tests.fakes import cassettes
from tests.fakes.fake_streams import ANSWER, RESPONSE_MODEL_SUFFIX
from tests.harness import Servers, output

AZURE_KEY = "3f2a9c0d4b5e6f708192a3b4c5d6e7f8"
API_VERSION = "2024-10-21"
KEY = "gsk_testkey1234567890abcdefABCDEF0123"
MESSAGES: list[Any] = [{"role": "user", "content": "Say hi"}]


def azure(url: str) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(
        api_key=AZURE_KEY, api_version=API_VERSION, azure_endpoint=url, max_retries=0
    )


def stored_bytes(db: Path) -> bytes:
    """The SQLite file and its WAL, as written."""
    files = (db, db.with_name(db.name + "-wal"))
    return b"".join(path.read_bytes() for path in files if path.exists())


def test_azure_chat_is_recorded_with_the_deployment_as_model(
    servers: Servers, tmp_path: Path
) -> None:
    direct = azure(servers.upstream_url)
    proxied = azure(servers.proxy_url)
    want = direct.chat.completions.create(model="prod-chat", messages=MESSAGES)
    raw = proxied.chat.completions.with_raw_response.create(model="prod-chat", messages=MESSAGES)
    got = raw.parse()
    assert got.model_dump() == want.model_dump()
    seen = servers.fake.last("/openai/deployments/prod-chat/chat/completions")
    assert seen.query == f"api-version={API_VERSION}"
    assert seen.headers["api-key"] == AZURE_KEY
    rec = servers.record(raw.headers["wiretrace-call-id"])
    assert rec.op_name == "openai.chat.completions.create"
    assert rec.status == "ok" and rec.http_status == 200
    assert rec.model == "prod-chat" and rec.response_model == "prod-chat" + RESPONSE_MODEL_SUFFIX
    assert output(rec)["choices"][0]["message"]["content"] == ANSWER
    assert rec.usage is not None and got.usage is not None
    assert rec.usage.total_tokens == got.usage.total_tokens and rec.usage_source == "upstream"
    request = attribute(rec, "request")
    assert request["path"] == "/openai/deployments/prod-chat/chat/completions"
    assert request["query"] == f"api-version={API_VERSION}"
    assert AZURE_KEY not in request["headers"]["api-key"]
    assert rec.key_fingerprint is not None  # the api-key is the call's key
    assert AZURE_KEY.encode() not in stored_bytes(tmp_path / "wiretrace.db")


def test_azure_stream_is_reassembled_with_usage(servers: Servers, tmp_path: Path) -> None:
    direct = azure(servers.upstream_url)
    proxied = azure(servers.proxy_url)
    want = [
        c.model_dump()
        for c in direct.chat.completions.create(model="prod-chat", messages=MESSAGES, stream=True)
    ]
    got = [
        c.model_dump()
        for c in proxied.chat.completions.create(model="prod-chat", messages=MESSAGES, stream=True)
    ]
    assert got == want  # the usage chunk the proxy asked for is not the app's
    upstream_saw = json.loads(
        servers.fake.last("/openai/deployments/prod-chat/chat/completions").body
    )
    assert upstream_saw["stream_options"] == {"include_usage": True}
    (rec,) = servers.records()
    assert rec.op_name == "openai.chat.completions.create"
    assert rec.model == "prod-chat" and rec.response_model == "prod-chat" + RESPONSE_MODEL_SUFFIX
    assert output(rec)["object"] == "chat.completion"
    assert output(rec)["choices"][0]["message"]["content"] == ANSWER
    assert rec.usage is not None and rec.usage.completion_tokens == len(ANSWER.split())
    assert rec.usage_source == "injected"
    assert rec.ttft_ms is not None
    assert AZURE_KEY.encode() not in stored_bytes(tmp_path / "wiretrace.db")


def test_an_older_azure_api_version_refusing_stream_options(servers: Servers) -> None:
    """Azure before api-version 2024-09-01-preview refuses ``stream_options``: the app's own
    request goes instead, and usage is estimated."""
    client = azure(servers.proxy_url)
    chunks = list(
        client.chat.completions.create(
            model="prod-chat",
            messages=MESSAGES,
            stream=True,
            extra_headers={"x-fake-scenario": "reject_stream_options"},
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ANSWER
    (rec,) = servers.records()
    assert rec.status == "ok" and rec.model == "prod-chat"
    assert rec.usage is not None and rec.usage_source == "estimated"
    assert output(rec)["choices"][0]["message"]["content"] == ANSWER


def test_a_recorded_azure_stream_through_the_azure_path(servers: Servers) -> None:
    """Azure's own bytes: an opening chunk with empty id and model (its prompt filter
    results), content filter results on every choice, no usage."""
    fixture = "dd-trace-py/azure_chat_completion_streamed.yaml"
    (recorded,) = cassettes.load(fixture)
    client = azure(servers.proxy_url)
    chunks = list(
        client.chat.completions.create(
            model="test-openai",
            messages=MESSAGES,
            stream=True,
            extra_headers={"x-fake-replay": f"{fixture}#0"},
        )
    )
    # Azure sends choices without a delta (content filter results only).
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    text = "".join(d.content or "" for d in deltas if d is not None)
    (rec,) = servers.records()
    expected = reassemble_stream(Endpoint.CHAT, [recorded.body])
    assert rec.output == expected.output
    assert output(rec)["choices"][0]["message"]["content"] == text != ""
    assert rec.model == "test-openai"
    assert rec.response_model == expected.model == "gpt-4o-mini-2024-07-18"
    assert rec.op_name == "openai.chat.completions.create" and rec.status == "ok"
    assert rec.usage is not None and rec.usage_source == "estimated"


def test_azure_embeddings(servers: Servers) -> None:
    client = azure(servers.proxy_url)
    raw = client.embeddings.with_raw_response.create(model="prod-embed", input=["a b", "c"])
    got = raw.parse()
    assert len(got.data) == 2
    rec = servers.record(raw.headers["wiretrace-call-id"])
    assert rec.op_name == "openai.embeddings.create"
    assert rec.model == "prod-embed" and rec.response_model == "prod-embed"
    assert rec.usage is not None and rec.usage.prompt_tokens == 3 == got.usage.prompt_tokens
    assert servers.fake.last().path == "/openai/deployments/prod-embed/embeddings"


def test_an_azure_body_without_model_records_the_deployment(servers: Servers) -> None:
    """Azure's REST API takes the model from the path: a body naming none is the usual."""
    url = (
        f"{servers.proxy_url}/openai/deployments/prod-chat/chat/completions"
        f"?api-version={API_VERSION}"
    )
    body = json.dumps({"messages": MESSAGES}).encode()
    headers = {"api-key": AZURE_KEY, "Content-Type": "application/json"}
    with urllib.request.urlopen(urllib.request.Request(url, body, headers)) as answer:
        call_id = answer.headers["wiretrace-call-id"]
        answered = json.load(answer)
    rec = servers.record(call_id)
    assert rec.model == "prod-chat"
    assert rec.response_model == answered["model"] == "gpt-4o-mini" + RESPONSE_MODEL_SUFFIX
    assert rec.op_name == "openai.chat.completions.create"
    assert rec.usage is not None and rec.usage.total_tokens == answered["usage"]["total_tokens"]


def test_an_azure_call_without_api_version_gets_azures_answer(servers: Servers) -> None:
    client = openai.OpenAI(
        api_key=AZURE_KEY,
        base_url=servers.proxy_url + "/openai/deployments/prod-chat",
        max_retries=0,
    )
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="prod-chat", messages=MESSAGES)
    (rec,) = servers.records()
    assert rec.status == "error" and rec.http_status == 404
    assert rec.op_name == "openai.chat.completions.create"


@pytest.mark.parametrize("prefix", ["/openai/v1", "/api/v1", "/v1beta/openai"])
def test_groq_openrouter_and_gemini_paths(servers: Servers, prefix: str) -> None:
    direct = openai.OpenAI(api_key=KEY, base_url=servers.upstream_url + prefix, max_retries=0)
    proxied = openai.OpenAI(api_key=KEY, base_url=servers.proxy_url + prefix, max_retries=0)
    want = direct.chat.completions.create(model="llama-3.3-70b", messages=MESSAGES)
    got = proxied.chat.completions.create(model="llama-3.3-70b", messages=MESSAGES)
    assert got.model_dump() == want.model_dump()
    streamed = list(
        proxied.chat.completions.create(model="llama-3.3-70b", messages=MESSAGES, stream=True)
    )
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == ANSWER
    embedded = proxied.embeddings.create(model="embed-small", input="one two")
    assert servers.fake.last().path == f"{prefix}/embeddings"
    plain, stream, embedding = sorted(servers.records(), key=lambda r: r.started_at)
    assert plain.op_name == stream.op_name == "openai.chat.completions.create"
    assert plain.model == stream.model == "llama-3.3-70b"
    assert plain.response_model == "llama-3.3-70b" + RESPONSE_MODEL_SUFFIX
    assert plain.usage is not None and got.usage is not None
    assert plain.usage.total_tokens == got.usage.total_tokens
    assert output(stream)["choices"][0]["message"]["content"] == ANSWER
    assert stream.usage is not None and stream.usage_source == "injected"
    assert embedding.op_name == "openai.embeddings.create"
    assert embedding.usage is not None
    assert embedding.usage.prompt_tokens == embedded.usage.prompt_tokens == 2
    assert attribute(plain, "request")["path"] == f"{prefix}/chat/completions"


def test_the_json_api_and_the_ui_keep_their_paths(servers: Servers) -> None:
    listed = fetch(f"{servers.proxy_url}/api/calls")
    assert listed.status == 200 and json.loads(listed.body)["calls"] == []
    missing = fetch(f"{servers.proxy_url}/api/nothing-here")
    assert missing.status == 404 and "error" in json.loads(missing.body)
    page = fetch(f"{servers.proxy_url}/traces/0123abcd")
    assert page.status == 200 and page.content_type == "text/html"
    for path in ("/openai", "/v1beta/openai"):  # the proxy's, not the UI's
        assert fetch(servers.proxy_url + path).status == 404
    assert servers.fake.seen == []  # none of these went upstream


class Fetched:
    def __init__(self, status: int, content_type: str, body: bytes) -> None:
        self.status = status
        self.content_type = content_type
        self.body = body


def fetch(url: str) -> Fetched:
    try:
        with urllib.request.urlopen(url) as answer:
            return Fetched(answer.status, answer.headers.get_content_type(), answer.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return Fetched(exc.code, exc.headers.get_content_type(), exc.read())


def attribute(rec: CallRecord, key: str) -> Any:
    """One of a record's attributes, for assertions."""
    return rec.attributes[key]


# Records name the provider and host from the upstream URL: an upstream named like a real
# provider's host, resolved to the fake on loopback (the process's resolver answers for it).


@pytest.fixture
def loopback_names(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    names: set[str] = set()
    resolve = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        return resolve("127.0.0.1" if host in names else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


@pytest.fixture
def named(loopback_names: set[str], tmp_path: Path) -> Iterator[Servers]:
    """Wiretrace in front of the fake upstream, reached as an Azure resource's host."""
    loopback_names.add("contoso-prod.openai.azure.com")
    servers = Servers(
        f"sqlite:///{tmp_path / 'wiretrace.db'}", upstream_name="contoso-prod.openai.azure.com"
    )
    try:
        yield servers
    finally:
        servers.close()


def test_records_name_the_provider_and_host(named: Servers) -> None:
    client = azure(named.proxy_url)
    client.chat.completions.create(model="prod-chat", messages=MESSAGES)
    (rec,) = named.records()
    assert rec.attributes["provider"] == "azure"
    assert rec.attributes["upstream_host"] == "contoso-prod.openai.azure.com"
    assert named.fake.last().headers["host"].startswith("contoso-prod.openai.azure.com:")


def test_an_upstream_of_no_known_provider_has_its_host_only(servers: Servers) -> None:
    openai.OpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0).models.list()
    (rec,) = servers.records()
    assert rec.attributes["provider"] is None
    assert rec.attributes["upstream_host"] == "127.0.0.1"
