"""No wiretrace server yet: the app's OpenAI calls still work, and are recorded once it runs.

The real ``openai`` client (sync and async, streamed and not) talks to the fake upstream,
which stands in for api.openai.com (the SDK's rewritten origin points at it). ``init()`` is
given a port where nothing listens: every call goes straight to the upstream, stderr says
so once, ``wiretrace.status()`` counts them. Then the real wiretrace app starts on that
port: the calls go through it again, nest under their ops and are stored, and the spans of
the ops that ran while it was down arrive too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import wiretrace
from aiohttp import web
from wiretrace import _fallback, _inject, _state
from wiretrace_proxy.app import create_app
from wiretrace_proxy.appkeys import WRITER
from wiretrace_proxy.settings import Settings

from tests.fakes.fake_streams import ANSWER
from tests.fakes.upstream import FAKE, FakeUpstream, create_fake_upstream
from tests.harness import LoopThread, start_site
from tests.proxy.process import free_port, wait_stored

KEY = "sk-test-failopen-0000000000000000"


@dataclasses.dataclass
class World:
    """The fake upstream (running), and the port the wiretrace app will listen on."""

    thread: LoopThread
    fake: FakeUpstream
    upstream_url: str
    port: int
    db_url: str
    app: web.Application | None = None
    runners: list[web.AppRunner] = dataclasses.field(default_factory=list)

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_proxy(self) -> None:
        """The real wiretrace app on ``port``, in front of the fake upstream."""
        settings = dataclasses.replace(
            Settings(), upstream=self.upstream_url, db_url=self.db_url, key_salt="s"
        )
        self.app = create_app(settings)

        async def start() -> web.AppRunner:
            assert self.app is not None
            runner = web.AppRunner(self.app, handler_cancellation=True, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
            return runner

        self.runners.append(self.thread.call(start()))

    def calls(self, **query: str) -> list[dict[str, Any]]:
        """Stored records from the app's own API, once its writer has written them."""
        assert self.app is not None and self.app[WRITER].flush(10)
        url = f"{self.proxy_url}/api/calls?" + "&".join(f"{k}={v}" for k, v in query.items())
        with urllib.request.urlopen(url) as response:
            calls: list[dict[str, Any]] = json.load(response)["calls"]
        return calls


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("WIRETRACE_QUIET", raising=False)
    monkeypatch.setattr(_fallback, "PROBE_INTERVAL", 0.05)
    thread = LoopThread()
    upstream_app = create_fake_upstream()
    upstream_runner, upstream_url = thread.call(start_site(upstream_app))
    host, port = upstream_url.removeprefix("http://").rsplit(":", 1)
    monkeypatch.setattr(_inject, "OPENAI_SCHEME", "http")  # the upstream plays api.openai.com
    monkeypatch.setattr(_inject, "OPENAI_HOST", host)
    monkeypatch.setattr(_inject, "OPENAI_PORT", int(port))
    w = World(thread, upstream_app[FAKE], upstream_url, free_port(), f"sqlite:///{tmp_path}/w.db")
    try:
        yield w
    finally:
        _state.reset()
        for runner in [*w.runners, upstream_runner]:
            thread.call(runner.cleanup())
        thread.close()


def _wait_routing(timeout: float = 10) -> None:
    target = _inject._target
    assert target is not None
    prober = target.health._prober
    if prober is not None:
        prober.join(timeout)  # the re-check thread ends once the proxy answers
    assert wiretrace.status().routing


def _notices(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("wiretrace:")]


def test_sync_calls_work_without_the_server_and_are_recorded_once_it_runs(
    world: World, capfd: pytest.CaptureFixture[str]
) -> None:
    client = openai.OpenAI(api_key=KEY, base_url=world.upstream_url + "/v1", max_retries=0)
    wiretrace.init(project="failopen", url=world.proxy_url)

    @wiretrace.op
    def ask(stream: bool) -> tuple[str, str | None]:
        messages: Any = [{"role": "user", "content": "hi"}]
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=messages, stream=stream
        )
        call_id = raw.headers.get("wiretrace-call-id")
        parsed = raw.parse()
        if isinstance(parsed, openai.Stream):
            text = "".join(c.choices[0].delta.content or "" for c in parsed if c.choices)
        else:
            text = parsed.choices[0].message.content or ""
        return text, call_id

    down = [ask(stream=i % 2 == 1) for i in range(10)]
    assert down == [(ANSWER, None)] * 10  # answered by the upstream itself: no call id
    assert len(world.fake.seen) == 10
    assert all("traceparent" not in s.headers for s in world.fake.seen)
    assert wiretrace.status().direct_calls == 10 and not wiretrace.status().routing
    (notice,) = _notices(capfd.readouterr().err)
    assert f"the proxy at {world.proxy_url} cannot be reached" in notice

    world.start_proxy()
    _wait_routing()
    routed = [ask(stream=i % 2 == 1) for i in range(4)]
    assert [text for text, _ in routed] == [ANSWER] * 4
    for _, call_id in routed:
        assert call_id is not None
        wait_stored(world.proxy_url, call_id)
    assert len(world.fake.seen) == 14  # the proxy forwarded each routed call once
    assert wiretrace.status().direct_calls == 10
    (resumed,) = _notices(capfd.readouterr().err)
    assert resumed.endswith("are recorded (10 went direct meanwhile)")

    assert wiretrace.finish(30)  # the spans of the ops that ran while it was down, too
    llm = world.calls(project="failopen", kind="llm")
    ops = world.calls(project="failopen", kind="op")
    assert sorted(c["id"] for c in llm) == sorted(call_id or "" for _, call_id in routed)
    assert len(ops) == 14 and {c["status"] for c in ops} == {"ok"}
    assert {c["parent_id"] for c in llm} <= {c["id"] for c in ops}
    assert len({c["parent_id"] for c in llm}) == 4
    client.close()


async def test_async_calls_work_without_the_server_and_are_recorded_once_it_runs(
    world: World, capfd: pytest.CaptureFixture[str]
) -> None:
    client = openai.AsyncOpenAI(api_key=KEY, base_url=world.upstream_url + "/v1", max_retries=0)
    wiretrace.init(project="failopen-async", url=world.proxy_url)

    @wiretrace.op
    async def ask(n: int) -> tuple[str, str | None]:
        messages: Any = [{"role": "user", "content": f"q{n}"}]
        raw = await client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=messages, stream=n % 2 == 1
        )
        call_id = raw.headers.get("wiretrace-call-id")
        parsed = raw.parse()
        if isinstance(parsed, openai.AsyncStream):
            text = "".join([c.choices[0].delta.content or "" async for c in parsed if c.choices])
        else:
            text = parsed.choices[0].message.content or ""
        return text, call_id

    # the first six all try the proxy at once: each goes direct, one notice
    assert await asyncio.gather(*(ask(n) for n in range(6))) == [(ANSWER, None)] * 6
    assert len(world.fake.seen) == 6 and wiretrace.status().direct_calls == 6
    assert len(_notices(capfd.readouterr().err)) == 1

    await asyncio.to_thread(world.start_proxy)
    await asyncio.to_thread(_wait_routing)
    routed = await asyncio.gather(*(ask(n) for n in range(4)))
    assert [text for text, _ in routed] == [ANSWER] * 4
    for _, call_id in routed:
        assert call_id is not None
        await asyncio.to_thread(wait_stored, world.proxy_url, call_id)
    assert len(world.fake.seen) == 10 and wiretrace.status().direct_calls == 6
    assert len(_notices(capfd.readouterr().err)) == 1
    await client.close()

    assert await asyncio.to_thread(wiretrace.finish, 30)
    llm = await asyncio.to_thread(world.calls, project="failopen-async", kind="llm")
    assert sorted(c["id"] for c in llm) == sorted(call_id or "" for _, call_id in routed)
    assert sum(1 for c in llm if c["ttft_ms"] is not None) == 2  # the two streamed ones
    ops = await asyncio.to_thread(world.calls, project="failopen-async", kind="op")
    assert len(ops) == 10 and {c["parent_id"] for c in llm} <= {c["id"] for c in ops}


SCRIPT = """
import sys, openai, wiretrace
from wiretrace import _inject

upstream, server = sys.argv[1], sys.argv[2]
_inject.OPENAI_SCHEME, rest = upstream.split("://")  # the fake upstream plays api.openai.com
_inject.OPENAI_HOST, port = rest.split(":")
_inject.OPENAI_PORT = int(port)
client = openai.OpenAI(api_key="sk-test-script-000000000000", base_url=upstream + "/v1")
wiretrace.init(project="script", url=server)

@wiretrace.op
def step(i):
    return client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": str(i)}]).choices[0].message.content

answers = [step(i) for i in range(20)]
print(len(answers), len(set(answers)), wiretrace.status().direct_calls)
"""


def test_a_script_with_no_server_runs_and_says_so_once(tmp_path: Path) -> None:
    """The measured problem: ``init()`` and no server made every call fail, silently."""
    import subprocess
    import sys

    from tests.harness import fake_upstream_url

    script = tmp_path / "app.py"
    script.write_text(SCRIPT)
    with fake_upstream_url() as upstream:
        done = subprocess.run(
            [sys.executable, str(script), upstream, f"http://127.0.0.1:{free_port()}"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["20", "1", "20"]  # 20 answers, all alike, 20 went direct
    (line,) = done.stderr.splitlines()  # nothing else: no traceback, no second notice
    assert line.startswith("wiretrace: the proxy at http://127.0.0.1:") and "not recorded" in line
