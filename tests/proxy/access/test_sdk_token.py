"""The SDK against a server started with ``--auth-token``: ``WIRETRACE_TOKEN`` is sent as a
bearer token by the query client and by the span exporter."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
import wiretrace
from wiretrace import _state

from tests.harness import Servers
from tests.proxy.access.conftest import OTHER, TOKEN


@pytest.fixture
def sdk(guarded: Servers) -> Iterator[Servers]:
    try:
        yield guarded
    finally:
        _state.reset()


def test_the_query_client_sends_the_token(
    guarded: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WIRETRACE_TOKEN", raising=False)
    with pytest.raises(wiretrace.WiretraceAPIError) as refused:
        list(wiretrace.client(guarded.proxy_url).calls())
    assert refused.value.status == 401 and "sign in required" in refused.value.message
    monkeypatch.setenv("WIRETRACE_TOKEN", TOKEN)
    assert list(wiretrace.client(guarded.proxy_url).calls()) == []
    monkeypatch.delenv("WIRETRACE_TOKEN")
    stats = wiretrace.client(guarded.proxy_url, token=OTHER).stats("model")
    assert stats["groups"] == []


def test_spans_reach_a_guarded_server_with_the_token(
    sdk: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIRETRACE_TOKEN", TOKEN)
    app = openai.OpenAI(api_key="sk-test-sdk-token-0000000000000000")
    wiretrace.init(project="guarded", url=sdk.proxy_url)

    @wiretrace.op
    def answer(question: str) -> str:
        reply = app.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": question}]
        )
        return reply.choices[0].message.content or ""

    assert answer("why?")
    assert wiretrace.finish(10)
    sdk.flush()
    calls = list(wiretrace.client(sdk.proxy_url).calls())
    by_kind = {call["kind"]: call for call in calls}
    assert set(by_kind) == {"op", "llm"}
    assert by_kind["op"]["op_name"].endswith("answer") and by_kind["op"]["project"] == "guarded"
    assert by_kind["llm"]["parent_id"] == by_kind["op"]["id"]


def test_without_the_token_spans_are_refused_and_the_warning_says_why(
    sdk: Servers, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("WIRETRACE_TOKEN", raising=False)
    wiretrace.init(project="guarded", url=sdk.proxy_url, quiet=True)

    @wiretrace.op
    def lonely() -> int:
        return 1

    with caplog.at_level("WARNING", logger="wiretrace"):
        assert lonely() == 1
        wiretrace.finish(10)
    assert any("WIRETRACE_TOKEN" in r.getMessage() for r in caplog.records), caplog.text
    sdk.flush()
    assert list(wiretrace.client(sdk.proxy_url, token=TOKEN).calls()) == []
