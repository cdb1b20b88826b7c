"""Fixtures for evaluation tests: the contract stand-in, and the fake OpenAI upstream."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import openai
import pytest
import wiretrace
from wiretrace import _state

from tests.fakes.upstream import FAKE, FakeUpstream, create_fake_upstream
from tests.harness import LoopThread, start_site

from .contract_server import ContractServer


@dataclass
class Upstream:
    """The fake OpenAI upstream in a loop thread, and a real ``openai`` client aimed at it."""

    url: str
    fake: FakeUpstream
    client: openai.OpenAI
    thread: LoopThread

    def requests(self, path: str = "/v1/chat/completions") -> int:
        return sum(1 for seen in self.fake.seen if seen.path == path)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    thread = LoopThread()
    app = create_fake_upstream()
    runner, url = thread.call(start_site(app))
    client = openai.OpenAI(base_url=url + "/v1", api_key="sk-test-eval-0000", max_retries=0)
    try:
        yield Upstream(url, app[FAKE], client, thread)
    finally:
        client.close()
        thread.call(runner.cleanup())
        thread.close()


@pytest.fixture
def server() -> Iterator[ContractServer]:
    contract = ContractServer()
    yield contract
    contract.stop()


@pytest.fixture
def traced(server: ContractServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[ContractServer]:
    """``init()`` against the contract stand-in, stderr notices off."""
    monkeypatch.setenv("WIRETRACE_QUIET", "1")
    monkeypatch.delenv("WIRETRACE_PARALLELISM", raising=False)
    wiretrace.init(project="evals", url=server.url)
    yield server
    _state.reset()
