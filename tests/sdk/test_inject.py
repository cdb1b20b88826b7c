"""OpenAI injection by ``init()``: proxied requests carry the current span.

The real ``openai`` client (3.x, on ``httpx2``) created with the default base URL (so
requests are meant for api.openai.com) *before* ``init(url=fake)``; the rewrite sends them
to the fake server, which records headers. Also ``AsyncOpenAI``, a custom ``http_client``,
streaming (the app still gets an ``openai.Stream``), clients for other providers (left
alone), reversibility, and ``init()`` before ``import openai``.
"""

from __future__ import annotations

import functools
import logging
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import openai
import pytest
import wiretrace
from wiretrace import _inject, _state
from wiretrace._traceparent import parse_traceparent

from .fake_openai import FakeOpenAI

MESSAGES: list[openai.types.chat.ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _no_real_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")


def _assert_child_of_current(traceparent: str | None) -> None:
    span = wiretrace.current_span()
    assert span is not None
    parsed = parse_traceparent(traceparent)
    assert parsed is not None, traceparent
    assert (parsed.trace_id, parsed.span_id) == (span.trace_id, span.id)


def test_client_created_before_init_is_routed_and_linked(fake: FakeOpenAI) -> None:
    client = openai.OpenAI(max_retries=0)
    wiretrace.init(project="demo", url=fake.url)

    @wiretrace.op(name="generate")
    def generate() -> str | None:
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        seen = fake.last()
        assert seen.path == "/v1/chat/completions"
        _assert_child_of_current(seen.headers.get("traceparent"))
        return reply.choices[0].message.content

    assert generate() == "hello"
    seen = fake.last()
    assert seen.headers["wiretrace-project"] == "demo"
    assert seen.headers["host"] == fake.url.removeprefix("http://")
    assert seen.headers["authorization"] == "Bearer sk-test"


def test_without_a_current_span_no_traceparent_is_sent(fake: FakeOpenAI) -> None:
    client = openai.OpenAI(max_retries=0)
    wiretrace.init(url=fake.url)
    client.chat.completions.create(model="m", messages=MESSAGES)
    assert "traceparent" not in fake.last().headers
    assert "wiretrace-project" not in fake.last().headers


async def test_async_client_is_linked(fake: FakeOpenAI) -> None:
    client = openai.AsyncOpenAI(max_retries=0)
    wiretrace.init(url=fake.url)

    @wiretrace.op(name="agenerate")
    async def agenerate() -> None:
        await client.chat.completions.create(model="m", messages=MESSAGES)
        _assert_child_of_current(fake.last().headers.get("traceparent"))

    await agenerate()
    await client.close()


def test_custom_http_client_is_linked(fake: FakeOpenAI) -> None:
    http_client = httpx2.Client()
    client = openai.OpenAI(http_client=http_client, max_retries=0)
    wiretrace.init(url=fake.url)

    @wiretrace.op(name="custom")
    def custom() -> None:
        client.chat.completions.create(model="m", messages=MESSAGES)
        _assert_child_of_current(fake.last().headers.get("traceparent"))

    custom()
    http_client.close()


def test_streaming_keeps_the_sdk_stream_type(fake: FakeOpenAI) -> None:
    client = openai.OpenAI(max_retries=0)
    wiretrace.init(url=fake.url)

    @wiretrace.op(name="streamed")
    def streamed() -> str:
        stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        assert type(stream) is openai.Stream  # nothing the app sees is wrapped
        _assert_child_of_current(fake.last().headers.get("traceparent"))
        return "".join(chunk.choices[0].delta.content or "" for chunk in stream)

    assert streamed() == "hello"


def test_client_already_aimed_at_the_proxy_gets_headers(fake: FakeOpenAI) -> None:
    wiretrace.init(url=fake.url)
    loopback_alias = fake.url.replace("127.0.0.1", "localhost") + "/v1"
    client = openai.OpenAI(base_url=loopback_alias, max_retries=0)

    @wiretrace.op(name="direct")
    def direct() -> None:
        client.chat.completions.create(model="m", messages=MESSAGES)
        _assert_child_of_current(fake.last().headers.get("traceparent"))

    direct()


def test_client_for_another_provider_is_left_alone(fake: FakeOpenAI) -> None:
    other = FakeOpenAI()  # stands for another provider's endpoint
    try:
        wiretrace.init(project="demo", url=fake.url)
        client = openai.OpenAI(base_url=other.url + "/v1", max_retries=0)

        @wiretrace.op(name="elsewhere")
        def elsewhere() -> None:
            client.chat.completions.create(model="m", messages=MESSAGES)

        elsewhere()
        assert fake.seen == [] and len(other.seen) == 1
        assert "traceparent" not in other.last().headers
        assert "wiretrace-project" not in other.last().headers
    finally:
        other.stop()


def test_injection_is_reversible_and_init_twice_patches_once(fake: FakeOpenAI) -> None:
    original_sync, original_async = httpx2.Client.send, httpx2.AsyncClient.send
    wiretrace.init(url=fake.url)
    patched = httpx2.Client.send
    wiretrace.init(url=fake.url, project="again")
    assert httpx2.Client.send is patched and patched is not original_sync
    assert httpx2.Client.send.__wrapped__ is original_sync  # type: ignore[attr-defined]
    _state.reset()
    assert httpx2.Client.send is original_sync
    assert httpx2.AsyncClient.send is original_async
    assert not _inject.installed()
    assert not any(isinstance(f, _inject._PostImportFinder) for f in sys.meta_path)
    client = openai.OpenAI(base_url=fake.url + "/v1", max_retries=0)

    @wiretrace.op(name="after")
    def after() -> None:
        client.chat.completions.create(model="m", messages=MESSAGES)

    after()
    assert "traceparent" not in fake.last().headers


def test_a_user_supplied_traceparent_is_kept(fake: FakeOpenAI) -> None:
    client = openai.OpenAI(max_retries=0)
    wiretrace.init(url=fake.url)
    mine = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    @wiretrace.op(name="explicit")
    def explicit() -> None:
        client.chat.completions.create(
            model="m", messages=MESSAGES, extra_headers={"traceparent": mine}
        )

    explicit()
    assert fake.last().headers["traceparent"] == mine


def test_init_before_openai_is_imported(fake: FakeOpenAI) -> None:
    script = textwrap.dedent(
        """
        import sys
        import wiretrace
        wiretrace.init(url=sys.argv[1])
        assert "httpx2" not in sys.modules and "openai" not in sys.modules
        import openai

        @wiretrace.op(name="late")
        def late():
            client = openai.OpenAI(api_key="sk-test", max_retries=0)
            client.chat.completions.create(model="m", messages=[])
            print(wiretrace.current_span().traceparent)

        late()
        wiretrace.finish(0)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, fake.url], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert len(fake.seen) == 1 and fake.seen[0].path == "/v1/chat/completions"
    assert fake.seen[0].headers["traceparent"] == done.stdout.strip()


# --- another library wraps ``send`` after us ------------------------------------------------


def _reply(request: httpx2.Request) -> httpx2.Response:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
        ],
    }
    return httpx2.Response(200, json=body)


class _Recorder:
    """A transport that answers every request itself and keeps the URLs and headers it saw."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.traceparents: list[str | None] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.urls.append(str(request.url))
        self.traceparents.append(request.headers.get("traceparent"))
        return _reply(request)


def _third_party_wrap(owner: type[httpx2.Client], seen: list[str]) -> Callable[..., Any]:
    """What an APM's httpx integration does: wrap whatever ``send`` is there now."""
    inner = owner.send

    @functools.wraps(inner)
    def send(self: httpx2.Client, request: httpx2.Request, **kwargs: Any) -> httpx2.Response:
        seen.append(str(request.url))
        return inner(self, request, **kwargs)

    owner.send = send  # type: ignore[method-assign]
    return send


def test_a_wrapper_installed_after_ours_survives_uninstall(
    fake: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    original_sync, original_async = httpx2.Client.send, httpx2.AsyncClient.send
    recorder = _Recorder()
    client = openai.OpenAI(http_client=httpx2.Client(transport=httpx2.MockTransport(recorder)))
    seen: list[str] = []
    try:
        wiretrace.init(url=fake.url)
        ours = httpx2.Client.send
        theirs = _third_party_wrap(httpx2.Client, seen)

        @wiretrace.op(name="traced")
        def call() -> str | None:
            reply = client.chat.completions.create(model="m", messages=MESSAGES)
            return reply.choices[0].message.content

        openai_url = "https://api.openai.com/v1/chat/completions"
        proxied_url = fake.url + "/v1/chat/completions"
        assert call() == "ok"
        assert seen == [openai_url]  # theirs runs first, then ours rewrites
        assert recorder.urls == [proxied_url] and recorder.traceparents[0] is not None

        caplog.set_level(logging.DEBUG, logger="wiretrace")
        _state.reset()
        assert [r.message for r in caplog.records if "left in place" in r.message] == [
            "wiretrace: httpx2.Client.send wrapped again by another library; left in place, "
            "ours now passes requests through unchanged"
        ]
        assert httpx2.Client.send is theirs  # not silently removed
        assert theirs.__wrapped__ is ours  # type: ignore[attr-defined]
        assert httpx2.AsyncClient.send is original_async  # not wrapped by them: restored
        assert not _inject.installed()

        assert call() == "ok"  # their chain, through our disarmed wrapper, still works
        assert seen[1] == recorder.urls[1] == openai_url
        assert recorder.traceparents[1] is None

        wiretrace.init(url=fake.url)  # again: ours goes on top, routes once more
        assert httpx2.Client.send is not theirs
        assert httpx2.Client.send.__wrapped__ is theirs  # type: ignore[attr-defined]
        assert call() == "ok"
        assert seen[2] == recorder.urls[2] == proxied_url  # ours, now outermost, ran first
        _state.reset()
        assert httpx2.Client.send is theirs
    finally:
        _state.reset()
        httpx2.Client.send = original_sync  # type: ignore[method-assign]
        client.close()


async def test_an_async_wrapper_installed_after_ours_survives_uninstall(
    fake: FakeOpenAI,
) -> None:
    original_async = httpx2.AsyncClient.send
    recorder = _Recorder()
    transport = httpx2.MockTransport(recorder)
    client = openai.AsyncOpenAI(http_client=httpx2.AsyncClient(transport=transport))
    seen: list[str] = []
    try:
        wiretrace.init(url=fake.url)
        inner = httpx2.AsyncClient.send

        @functools.wraps(inner)
        async def theirs(
            self: httpx2.AsyncClient, request: httpx2.Request, **kwargs: Any
        ) -> httpx2.Response:
            seen.append(str(request.url))
            return await inner(self, request, **kwargs)

        httpx2.AsyncClient.send = theirs  # type: ignore[method-assign]
        await client.chat.completions.create(model="m", messages=MESSAGES)
        _state.reset()
        assert httpx2.AsyncClient.send is theirs
        await client.chat.completions.create(model="m", messages=MESSAGES)
        openai_url = "https://api.openai.com/v1/chat/completions"
        assert seen == [openai_url, openai_url]
        assert recorder.urls == [fake.url + "/v1/chat/completions", openai_url]
    finally:
        _state.reset()
        httpx2.AsyncClient.send = original_async  # type: ignore[method-assign]
        await client.close()


# --- the import hook ------------------------------------------------------------------------


def _finders() -> list[object]:
    return [f for f in sys.meta_path if isinstance(f, _inject._PostImportFinder)]


def test_the_import_hook_stays_while_a_module_is_unpatched(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_inject, "MODULES", ("httpx2", "not_imported_yet"))
    wiretrace.init(url=fake.url)
    assert len(_finders()) == 1
    _state.reset()
    assert _finders() == []


def test_the_import_hook_goes_once_every_module_is_patched(
    fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_inject, "MODULES", ("httpx2",))  # httpx2 is imported: patched now
    wiretrace.init(url=fake.url)
    assert _inject.installed() and _finders() == []
    _state.reset()
    assert _finders() == []


def test_the_import_hook_goes_when_the_last_module_is_imported(fake: FakeOpenAI) -> None:
    script = textwrap.dedent(
        """
        import sys
        import wiretrace
        from wiretrace import _inject
        _inject.MODULES = ("httpx2",)  # as if plain httpx were patched already
        wiretrace.init(url=sys.argv[1])
        hooks = lambda: [f for f in sys.meta_path if isinstance(f, _inject._PostImportFinder)]
        assert len(hooks()) == 1 and "httpx2" not in sys.modules
        import openai
        assert hooks() == [], sys.meta_path
        client = openai.OpenAI(api_key="sk-test", max_retries=0)
        client.chat.completions.create(model="m", messages=[])
        wiretrace.finish(0)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, fake.url], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert len(fake.seen) == 1 and fake.seen[0].path == "/v1/chat/completions"
