"""Fail open: with no wiretrace server, ``init()``'s routing sends OpenAI calls direct.

The real ``openai`` client (sync and async, streamed and not, httpx2 and aiohttp
transports) whose base URL is a local fake (``upstream``) standing in for api.openai.com:
the SDK's rewritten origin is pointed at it, so ``init(url=dead)`` rewrites those calls to a
port where nothing listens. The app's calls succeed against the fake directly, the user is
told once on stderr, ``wiretrace.status()`` counts the unrecorded calls, and once a server
answers on that port the calls go through it again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
import threading
from collections.abc import Iterator

import aiohttp
import httpx2
import openai
import pytest
import wiretrace
from wiretrace import _fallback, _inject

from .collector import free_port
from .fake_openai import FakeOpenAI

MESSAGES: list[openai.types.chat.ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("WIRETRACE_QUIET", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr(_fallback, "PROBE_INTERVAL", 0.02)


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    """The original destination: the origin ``init()`` rewrites, as if it were OpenAI's."""
    server = FakeOpenAI()
    monkeypatch.setattr(_inject, "OPENAI_SCHEME", "http")
    monkeypatch.setattr(_inject, "OPENAI_HOST", "127.0.0.1")
    monkeypatch.setattr(_inject, "OPENAI_PORT", int(server.url.rsplit(":", 1)[1]))
    yield server
    server.stop()


@pytest.fixture
def dead_port() -> int:
    return free_port()


def _url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def _notices(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("wiretrace:")]


def _wait_routing(timeout: float = 10) -> None:
    """Wait for the re-check thread to find the proxy answering (it ends then)."""
    target = _inject._target
    assert target is not None
    prober = target.health._prober
    if prober is not None:
        prober.join(timeout)
    assert wiretrace.status().routing


def _assert_as_the_app_built_it(upstream: FakeOpenAI) -> None:
    for seen in upstream.seen:
        assert seen.path == "/v1/chat/completions"
        assert seen.headers["host"] == upstream.url.removeprefix("http://")
        assert "traceparent" not in seen.headers and "wiretrace-project" not in seen.headers
        assert seen.headers["authorization"] == "Bearer sk-test"


def test_sync_calls_go_direct_and_the_user_is_told_once(
    upstream: FakeOpenAI, dead_port: int, capfd: pytest.CaptureFixture[str]
) -> None:
    client = openai.OpenAI(base_url=upstream.url + "/v1", max_retries=0)
    wiretrace.init(project="demo", url=_url(dead_port))

    @wiretrace.op(name="generate")
    def generate(stream: bool) -> str:
        if stream:
            chunks = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
            assert type(chunks) is openai.Stream
            return "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
        reply = client.chat.completions.create(model="m", messages=MESSAGES)
        return reply.choices[0].message.content or ""

    for i in range(20):
        assert generate(stream=i % 2 == 1) == "hello"
    assert len(upstream.seen) == 20
    assert [s.body.get("stream") for s in upstream.seen] == [None, True] * 10
    _assert_as_the_app_built_it(upstream)
    status = wiretrace.status()
    assert status.direct_calls == 20 and status.routing is False
    assert status.url == _url(dead_port)
    out, err = capfd.readouterr()
    (notice,) = _notices(err)
    assert notice.startswith(f"wiretrace: the proxy at {_url(dead_port)} cannot be reached (")
    assert "go straight to their destination and are not recorded" in notice
    assert "WIRETRACE_QUIET=1" in notice
    assert out == ""
    client.close()


async def test_async_calls_go_direct_even_when_they_fail_together(
    upstream: FakeOpenAI, dead_port: int, capfd: pytest.CaptureFixture[str]
) -> None:
    client = openai.AsyncOpenAI(base_url=upstream.url + "/v1", max_retries=0)
    wiretrace.init(url=_url(dead_port))

    @wiretrace.op(name="ask")
    async def ask(stream: bool) -> str:
        if stream:
            chunks = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
            assert type(chunks) is openai.AsyncStream
            return "".join([chunk.choices[0].delta.content or "" async for chunk in chunks])
        reply = await client.chat.completions.create(model="m", messages=MESSAGES)
        return reply.choices[0].message.content or ""

    # the first ones all try the proxy at once: each goes direct, one notice
    assert await asyncio.gather(*(ask(i % 2 == 0) for i in range(8))) == ["hello"] * 8
    assert await asyncio.gather(*(ask(i % 2 == 0) for i in range(8))) == ["hello"] * 8
    assert len(upstream.seen) == 16 and wiretrace.status().direct_calls == 16
    _assert_as_the_app_built_it(upstream)
    assert len(_notices(capfd.readouterr().err)) == 1
    await client.close()


async def test_openai_aiohttp_client_goes_direct(
    upstream: FakeOpenAI, dead_port: int, capfd: pytest.CaptureFixture[str]
) -> None:
    # its transport maps a refused connection to httpx2.ConnectTimeout (aiohttp cause)
    http_client = openai.DefaultAioHttpClient()
    client = openai.AsyncOpenAI(
        base_url=upstream.url + "/v1", max_retries=0, http_client=http_client
    )
    wiretrace.init(url=_url(dead_port))
    for _ in range(3):
        reply = await client.chat.completions.create(model="m", messages=MESSAGES)
        assert reply.choices[0].message.content == "hello"
    chunks = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    assert "".join([c.choices[0].delta.content or "" async for c in chunks]) == "hello"
    assert len(upstream.seen) == 4 and wiretrace.status().direct_calls == 4
    assert len(_notices(capfd.readouterr().err)) == 1
    await client.close()


def test_routing_resumes_when_the_proxy_answers(
    upstream: FakeOpenAI, dead_port: int, capfd: pytest.CaptureFixture[str]
) -> None:
    client = openai.OpenAI(base_url=upstream.url + "/v1", max_retries=0)
    wiretrace.init(project="demo", url=_url(dead_port))

    @wiretrace.op(name="generate")
    def generate() -> str:
        reply = client.chat.completions.create(model="m", messages=MESSAGES)
        return reply.choices[0].message.content or ""

    for _ in range(5):
        assert generate() == "hello"
    assert wiretrace.status().direct_calls == 5
    proxy = FakeOpenAI(dead_port)  # the server comes up on the port init() was given
    try:
        _wait_routing()
        for _ in range(4):
            assert generate() == "hello"
        assert len(upstream.seen) == 5 and len(proxy.seen) == 4
        for seen in proxy.seen:
            assert seen.headers["wiretrace-project"] == "demo"
            assert seen.headers["traceparent"].startswith("00-")
            assert seen.headers["host"] == f"127.0.0.1:{dead_port}"
        status = wiretrace.status()
        assert status.routing and status.direct_calls == 5
        down, up = _notices(capfd.readouterr().err)
        assert "cannot be reached" in down
        assert up == (
            f"wiretrace: the proxy at {_url(dead_port)} answers again; OpenAI calls go "
            "through it and are recorded (5 went direct meanwhile)"
        )
    finally:
        proxy.stop()
    client.close()  # its keep-alive connections to the stopped fake would still be served
    client = openai.OpenAI(base_url=upstream.url + "/v1", max_retries=0)
    # down again: told again, once
    assert generate() == "hello" and generate() == "hello"
    assert wiretrace.status().direct_calls == 7 and len(upstream.seen) == 7
    assert len(_notices(capfd.readouterr().err)) == 1
    client.close()


def test_only_the_first_call_tries_the_proxy_and_the_same_bytes_go_direct(
    upstream: FakeOpenAI, dead_port: int
) -> None:
    attempts: list[tuple[str, type, bytes]] = []

    def on_request(request: httpx2.Request) -> None:  # runs for each attempt of a send
        attempts.append((str(request.url), type(request.stream), request.content))

    http_client = httpx2.Client(event_hooks={"request": [on_request]})
    client = openai.OpenAI(base_url=upstream.url + "/v1", max_retries=0, http_client=http_client)
    wiretrace.init(url=_url(dead_port))
    for _ in range(3):
        client.chat.completions.create(model="m", messages=MESSAGES, stream=True).close()
    direct = upstream.url + "/v1/chat/completions"
    assert [url for url, _, _ in attempts] == [
        _url(dead_port) + "/v1/chat/completions",
        direct,
        direct,
        direct,
    ]
    # an OpenAI call's body is bytes (re-sendable), and the proxy never read a byte of it
    assert {kind for _, kind, _ in attempts} == {httpx2.ByteStream}
    assert attempts[0][2] == attempts[1][2] == attempts[2][2]
    assert all(seen.body["stream"] is True for seen in upstream.seen)
    http_client.close()


def test_a_one_shot_body_is_still_sent_whole(upstream: FakeOpenAI, dead_port: int) -> None:
    """A generator body can be sent again: a refused connection never started reading it."""
    wiretrace.init(url=_url(dead_port))
    body = [b'{"model": "m", ', b'"messages": []}']
    with httpx2.Client() as http:
        response = http.post(
            upstream.url + "/v1/chat/completions",
            content=iter(body),
            headers={"Content-Length": str(sum(map(len, body)))},
        )
    assert response.status_code == 200 and response.json()["object"] == "chat.completion"
    assert upstream.last().body == {"model": "m", "messages": []}
    assert wiretrace.status().direct_calls == 1


def test_a_client_aimed_at_the_proxy_itself_is_left_alone(
    upstream: FakeOpenAI, dead_port: int, capfd: pytest.CaptureFixture[str]
) -> None:
    wiretrace.init(url=_url(dead_port))
    client = openai.OpenAI(base_url=_url(dead_port) + "/v1", max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="m", messages=MESSAGES)
    assert upstream.seen == [] and wiretrace.status().direct_calls == 0
    assert wiretrace.status().routing and _notices(capfd.readouterr().err) == []
    client.close()


def test_a_connection_lost_after_connecting_is_not_sent_again(
    upstream: FakeOpenAI, capfd: pytest.CaptureFixture[str]
) -> None:
    """The proxy took the connection, so it may have the request: never duplicate a call."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def hang_up() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(65536)  # the request arrived...
            conn.close()  # ...and no answer comes

    threading.Thread(target=hang_up, daemon=True).start()
    try:
        wiretrace.init(url=_url(listener.getsockname()[1]))
        client = openai.OpenAI(base_url=upstream.url + "/v1", max_retries=0)
        with pytest.raises(openai.APIConnectionError):
            client.chat.completions.create(model="m", messages=MESSAGES)
        assert upstream.seen == [] and wiretrace.status().direct_calls == 0
        assert _notices(capfd.readouterr().err) == []
        client.close()
    finally:
        listener.close()


@pytest.mark.skipif(sys.platform != "linux", reason="a full listen backlog drops SYNs on Linux")
def test_a_connect_timeout_goes_direct(upstream: FakeOpenAI) -> None:
    silent = socket.socket()  # listens, never accepts: once its backlog is full, connects hang
    silent.bind(("127.0.0.1", 0))
    silent.listen(0)
    fillers = [socket.socket() for _ in range(4)]
    try:
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(silent.getsockname())
        wiretrace.init(url=_url(silent.getsockname()[1]))
        client = openai.OpenAI(
            base_url=upstream.url + "/v1",
            max_retries=0,
            timeout=httpx2.Timeout(10, connect=0.2),
        )
        reply = client.chat.completions.create(model="m", messages=MESSAGES)
        assert reply.choices[0].message.content == "hello"
        assert wiretrace.status().direct_calls == 1 and not wiretrace.status().routing
        client.close()
    finally:
        for filler in fillers:
            filler.close()
        silent.close()


@pytest.mark.parametrize("how", ["env", "init"])
def test_quiet_moves_the_notices_to_the_logger(
    how: str,
    upstream: FakeOpenAI,
    dead_port: int,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if how == "env":
        monkeypatch.setenv("WIRETRACE_QUIET", "1")
        wiretrace.init(url=_url(dead_port))
    else:
        wiretrace.init(url=_url(dead_port), quiet=True)
    client = openai.OpenAI(base_url=upstream.url + "/v1", max_retries=0)
    with caplog.at_level(logging.INFO, logger="wiretrace"):
        client.chat.completions.create(model="m", messages=MESSAGES)
        proxy = FakeOpenAI(dead_port)
        try:
            _wait_routing()
        finally:
            proxy.stop()
    assert capfd.readouterr().err == ""
    assert [(r.levelno, r.name) for r in caplog.records] == [
        (logging.WARNING, "wiretrace._fallback"),
        (logging.INFO, "wiretrace._fallback"),
    ]
    assert "cannot be reached" in caplog.records[0].getMessage()
    client.close()


def test_init_again_with_the_same_url_keeps_the_state(
    upstream: FakeOpenAI, dead_port: int, capfd: pytest.CaptureFixture[str]
) -> None:
    client = openai.OpenAI(base_url=upstream.url + "/v1", max_retries=0)
    wiretrace.init(url=_url(dead_port))
    client.chat.completions.create(model="m", messages=MESSAGES)
    wiretrace.init(url=_url(dead_port), project="again")
    client.chat.completions.create(model="m", messages=MESSAGES)
    assert wiretrace.status().direct_calls == 2 and not wiretrace.status().routing
    assert len(_notices(capfd.readouterr().err)) == 1
    proxy = FakeOpenAI()  # init() moved to a server that answers: routed at once
    try:
        wiretrace.init(url=proxy.url)
        assert wiretrace.status().routing
        client.chat.completions.create(model="m", messages=MESSAGES)
        assert len(proxy.seen) == 1 and len(upstream.seen) == 2
    finally:
        proxy.stop()
    client.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_stays_direct_and_re_checks_on_its_own(
    upstream: FakeOpenAI, dead_port: int
) -> None:
    client = openai.OpenAI(base_url=upstream.url + "/v1", max_retries=0)
    wiretrace.init(url=_url(dead_port))
    client.chat.completions.create(model="m", messages=MESSAGES)  # down, probe running
    client.close()
    pid = os.fork()
    if pid == 0:  # the child: the parent's probe thread is not here
        code = 1
        try:
            child = openai.OpenAI(base_url=upstream.url + "/v1", max_retries=0)
            child.chat.completions.create(model="m", messages=MESSAGES)
            target = _inject._target
            prober = target.health._prober if target is not None else None
            if prober is not None and prober.is_alive() and wiretrace.status().direct_calls == 2:
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert len(upstream.seen) == 2 and wiretrace.status().direct_calls == 1


def test_status_before_init() -> None:
    status = wiretrace.status()
    assert (status.url, status.routing, status.direct_calls) == (None, False, 0)
    assert (status.spans_sent, status.spans_dropped) == (0, 0)
    assert repr(status).startswith("Status(url=None, routing=False, direct_calls=0")


def test_only_a_connect_failure_of_this_very_request_counts() -> None:
    request = httpx2.Request("POST", "http://127.0.0.1:1/v1/chat/completions")
    refused = httpx2.ConnectError("refused", request=request)
    assert _fallback.never_sent(refused, request)
    redirected = httpx2.ConnectError("refused", request=httpx2.Request("GET", "http://x/"))
    assert not _fallback.never_sent(redirected, request)  # a later request of the same send
    bare_timeout = httpx2.ConnectTimeout("timed out", request=request)
    assert not _fallback.never_sent(bare_timeout, request)  # cause unknown: maybe sent
    lost = httpx2.ConnectTimeout("server disconnected", request=request)
    lost.__cause__ = aiohttp.ServerDisconnectedError()  # openai's aiohttp transport maps it so
    assert not _fallback.never_sent(lost, request)
