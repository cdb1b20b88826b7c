"""``wiretrace.client()``, the read-back client: lazy pages, call, trace, stats, feedback,
``to_pandas``, errors; "aggregating an experiment's cost is one line".

Calls are recorded through the real proxy with the real ``openai`` client against the fake
upstream (``tests/harness.py``); costs are filled by ``reprice`` (the recorder is wired to
the pricer separately) and checked against gpt-4o-mini's published rates by hand.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openai
import pytest
import wiretrace
from aiohttp import web
from wiretrace import _client
from wiretrace_proxy.appkeys import ENGINE
from wiretrace_proxy.commands.reprice import reprice
from wiretrace_proxy.record.pricing import Pricer

from tests.harness import LoopThread, Servers, start_site

TRACE = "a" * 32


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """One recorded dataset for the module: 5 calls of session exp-42 (3 of variant a),
    2 of exp-43, the last two in one trace; then priced."""
    path: Path = tmp_path_factory.mktemp("client") / "w.db"
    s = Servers(f"sqlite:///{path}", key_salt="test-salt")
    api = openai.OpenAI(api_key="sk-test", base_url=s.base_url, max_retries=0)
    for n in range(7):
        session = "exp-42" if n < 5 else "exp-43"
        headers = {
            "Wiretrace-Session-Id": session,
            "Wiretrace-Property-Variant": "a" if n < 3 else "b",
        }
        if n >= 5:
            headers["traceparent"] = f"00-{TRACE}-{n:016x}-01"
        api.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "word " * (n + 1)}],
            extra_headers=headers,
        )
    s.flush()
    reprice(s.app[ENGINE], Pricer())
    yield s
    s.close()


@pytest.fixture
def wt(servers: Servers) -> _client.Client:
    return wiretrace.client(servers.proxy_url)


def hand_cost(call: dict[str, Any]) -> float:
    """gpt-4o-mini: input 0.15, cached input 0.075, output 0.60 USD per million tokens."""
    u = call["usage"]
    cached = u["cached_tokens"] or 0
    paid = (u["prompt_tokens"] - cached) * 0.15 + cached * 0.075 + u["completion_tokens"] * 0.6
    return float(paid / 1e6)


def test_experiment_cost_is_one_line(wt: _client.Client, servers: Servers) -> None:
    cost = sum(
        c["cost_usd"] or 0 for c in wiretrace.client(servers.proxy_url).calls(session_id="exp-42")
    )
    calls = list(wt.calls(session_id="exp-42"))
    assert len(calls) == 5 and all(c["session_id"] == "exp-42" for c in calls)
    assert cost == pytest.approx(sum(hand_cost(c) for c in calls), rel=1e-9)
    assert cost > 0


def test_calls_is_lazy_and_follows_cursors(
    wt: _client.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests: list[list[tuple[str, str]]] = []
    real_get = wt.get

    def counting(path: str, params: Any = ()) -> object:
        requests.append(list(params))
        return real_get(path, params)

    monkeypatch.setattr(wt, "get", counting)
    query = wt.calls(page_size=2)
    assert requests == []  # nothing sent before iterating
    first = next(iter(query))
    assert len(requests) == 1 and first["id"]
    ids = [c["id"] for c in query]
    assert len(ids) == len(set(ids)) == 7
    assert len(requests) == 1 + 4  # 2 + 2 + 2 + 1, the last page has no cursor
    assert sum(len(p) for p in wt.calls(page_size=3).pages()) == 7


def test_filters_properties_sort_and_limit(wt: _client.Client) -> None:
    variant_a = list(wt.calls(properties={"variant": "a"}))
    assert len(variant_a) == 3
    assert {c["attributes"]["properties"]["variant"] for c in variant_a} == {"a"}
    cheapest_first = [c["cost_usd"] for c in wt.calls(sort="cost_usd")]
    assert cheapest_first == sorted(cheapest_first)
    assert len(list(wt.calls(limit=4, page_size=3))) == 4
    assert list(wt.calls(since=datetime.now(UTC) + timedelta(days=1))) == []
    assert len(list(wt.calls(model="gpt-4o-mini", roots_only=True, min_cost=0))) == 7


def test_call_and_trace(wt: _client.Client) -> None:
    some = next(iter(wt.calls(session_id="exp-43")))
    assert wt.call(some["id"])["id"] == some["id"]
    tree = wt.trace(TRACE)
    assert tree["trace_id"] == TRACE and len(tree["roots"]) == 2


def test_feedback_round_trip(wt: _client.Client) -> None:
    some = next(iter(wt.calls()))
    entry = wt.feedback(some["id"], thumbs=True, author="tester")
    assert entry["thumbs"] == "up" and entry["author"] == "tester"
    scored = wt.feedback(some["id"], score=0.5, name="accuracy", note="close")
    assert (scored["score"], scored["name"], scored["note"]) == (0.5, "accuracy", "close")
    given = wt.call(some["id"])["feedback"]
    assert [f["thumbs"] for f in given] == ["up", None]
    assert some["id"] in {c["id"] for c in wt.calls(feedback="up")}


@pytest.mark.parametrize(
    ("action", "status", "param"),
    [
        (lambda wt: list(wt.calls(modle="gpt-4o")), 400, "modle"),
        (lambda wt: list(wt.calls(sort="-price")), 400, "sort"),
        (lambda wt: wt.call("0" * 16), 404, None),
        (lambda wt: wt.trace("not-hex"), 400, "trace_id"),
        (lambda wt: wt.feedback("0" * 16, thumbs="up"), 404, None),
    ],
)
def test_api_errors_name_status_and_param(
    wt: _client.Client, action: Any, status: int, param: str | None
) -> None:
    with pytest.raises(wiretrace.WiretraceAPIError) as caught:
        action(wt)
    assert (caught.value.status, caught.value.param) == (status, param)
    assert caught.value.message and str(status) in str(caught.value)


def test_feedback_error_names_the_field(wt: _client.Client) -> None:
    some = next(iter(wt.calls()))
    with pytest.raises(wiretrace.WiretraceAPIError) as caught:
        wt.feedback(some["id"], score=1.0)  # a score needs a name
    assert caught.value.status == 400 and "name" in caught.value.message


def test_server_down_is_an_api_error_without_status() -> None:
    down = wiretrace.client("http://127.0.0.1:9", timeout=2)
    with pytest.raises(wiretrace.WiretraceAPIError, match="cannot reach wiretrace") as caught:
        down.call("x")
    assert caught.value.status is None


def test_default_url_is_like_init(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WIRETRACE_URL", raising=False)
    assert wiretrace.client().url == "http://127.0.0.1:8787"
    monkeypatch.setenv("WIRETRACE_URL", "http://example.test:1/")
    assert wiretrace.client().url == "http://example.test:1"


def test_filter_values_must_be_scalars(wt: _client.Client) -> None:
    with pytest.raises(TypeError, match="filter status"):
        wt.calls(status=["ok", "error"])


def test_stats_sends_group_by_and_filters() -> None:
    seen: list[dict[str, str]] = []

    async def stats(request: web.Request) -> web.Response:
        seen.append(dict(request.query))
        return web.json_response({"groups": [{"key": "gpt-4o", "calls": 2, "cost_usd": 0.5}]})

    app = web.Application()
    app.router.add_get("/api/stats", stats)
    loop = LoopThread()
    runner, url = loop.call(start_site(app))
    try:
        body = wiretrace.client(url).stats(
            "model", session_id="exp-42", properties={"variant": "a"}, since=datetime(2026, 1, 1)
        )
    finally:
        loop.call(runner.cleanup())
        loop.close()
    assert body["groups"][0]["cost_usd"] == 0.5
    assert seen == [
        {
            "group_by": "model",
            "session_id": "exp-42",
            "property.variant": "a",
            "since": "2026-01-01T00:00:00",
        }
    ]


def test_to_pandas(wt: _client.Client) -> None:
    pandas = pytest.importorskip("pandas")
    frame = wt.calls(session_id="exp-42").to_pandas()
    assert len(frame) == 5 and "usage" not in frame.columns
    assert {"prompt_tokens", "completion_tokens", "cost_usd", "model"} <= set(frame.columns)
    assert isinstance(frame["started_at"].dtype, pandas.DatetimeTZDtype)
    assert frame["cost_usd"].sum() == pytest.approx(
        sum(c["cost_usd"] for c in wt.calls(session_id="exp-42"))
    )
    assert len(_client.to_pandas([])) == 0
    expensive = [c for c in wt.calls() if (c["cost_usd"] or 0) > 0]
    assert len(wt.to_pandas(expensive)) == len(expensive) == 7


def test_frame_rows_spread_usage() -> None:
    rows = _client.frame_rows(
        [
            {"id": "a", "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}},
            {"id": "b", "usage": None},
        ]
    )
    assert rows[0] == {
        "id": "a",
        "prompt_tokens": 3,
        "completion_tokens": 4,
        "total_tokens": 7,
        "cached_tokens": None,
        "reasoning_tokens": None,
    }
    assert rows[1]["prompt_tokens"] is None


def test_to_pandas_without_pandas_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def no_pandas(name: str, package: str | None = None) -> Any:
        if name == "pandas":
            raise ImportError("No module named 'pandas'")
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", no_pandas)
    with pytest.raises(ImportError, match="pip install pandas"):
        _client.to_pandas([{"id": "a"}])
