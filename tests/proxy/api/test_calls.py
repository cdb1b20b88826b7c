"""``/api/calls``, ``/api/calls/{id}``, ``/healthz``: the shapes the API returns.

``docs/architecture.md``, "The contract" (API shapes, call record).
"""

from __future__ import annotations

import base64
import json
import random
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp
import openai
import pytest
from wiretrace_proxy.appkeys import ENGINE
from wiretrace_proxy.callrecord import CallRecord, Usage
from wiretrace_proxy.storage import filters
from wiretrace_proxy.storage import listing as calls_query

from tests.harness import Servers
from tests.proxy import seed

KEY = "sk-test-api-calls-0000000000001234"


async def get(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as resp:
            return resp.status, await resp.json()


@pytest.fixture
def seeded(servers: Servers) -> Servers:
    client = openai.OpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    for i in range(3):
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": f"{i}"}]
        )
    client.embeddings.create(model="text-embedding-3-small", input="x")
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[], extra_headers={"x-fake-scenario": "error_429"}
        )
    client.chat.completions.create(
        model="gpt-4o",
        messages=[],
        extra_headers={"traceparent": f"00-{'a' * 32}-{'b' * 16}-01", "Wiretrace-Project": "other"},
    )
    servers.flush()
    return servers


async def test_list_newest_first_with_contract_shape(seeded: Servers) -> None:
    status, body = await get(seeded.proxy_url + "/api/calls")
    assert status == 200 and set(body) == {"calls", "next_cursor"}
    calls = body["calls"]
    assert len(calls) == 6 and body["next_cursor"] is None
    started = [c["started_at"] for c in calls]
    assert started == sorted(started, reverse=True)
    contract = {
        "id",
        "project",
        "trace_id",
        "parent_id",
        "op_name",
        "display_name",
        "started_at",
        "ended_at",
        "latency_ms",
        "ttft_ms",
        "status",
        "http_status",
        "model",
        "inputs",
        "output",
        "usage",
        "usage_source",
        "cost_usd",
        "error",
        "attributes",
    }
    assert contract <= set(calls[0])
    assert set(calls[-1]["usage"]) == {
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "cached_tokens",
        "reasoning_tokens",
    }


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("op_name=openai.embeddings.create", 1),
        ("model=gpt-4o", 4),
        ("status=error", 1),
        ("status=ok&model=gpt-4o-mini", 0),
        (f"trace_id={'a' * 32}", 1),
        ("project=other", 1),
        ("project=default&op_name=openai.chat.completions.create", 4),
        ("model=%27%3B%20DROP%20TABLE%20calls%3B--", 0),
    ],
)
async def test_filters(seeded: Servers, query: str, count: int) -> None:
    status, body = await get(f"{seeded.proxy_url}/api/calls?{query}")
    assert status == 200 and len(body["calls"]) == count


async def test_pages_do_not_repeat_or_skip(seeded: Servers) -> None:
    seen: list[str] = []
    url = seeded.proxy_url + "/api/calls?limit=4"
    status, body = await get(url)
    seen += [c["id"] for c in body["calls"]]
    assert body["next_cursor"]
    status, body = await get(f"{url}&cursor={body['next_cursor']}")
    seen += [c["id"] for c in body["calls"]]
    assert body["next_cursor"] is None
    assert len(seen) == len(set(seen)) == 6


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("limit=5000", "limit"),
        ("status=weird", "status"),
        ("colour=red", "colour"),
        ("cursor=" + base64.urlsafe_b64encode(b"nonsense").decode(), "cursor"),
    ],
)
async def test_bad_parameters_get_400_naming_them(seeded: Servers, query: str, param: str) -> None:
    status, body = await get(f"{seeded.proxy_url}/api/calls?{query}")
    assert status == 400
    assert body["error"]["param"] == param and body["error"]["message"]


async def test_get_one_and_404(seeded: Servers) -> None:
    _, listing = await get(seeded.proxy_url + "/api/calls?limit=1")
    first = listing["calls"][0]
    status, one = await get(f"{seeded.proxy_url}/api/calls/{first['id']}")
    assert status == 200 and one["feedback"] == [] and first["feedback"] is None
    assert {k: v for k, v in one.items() if k != "feedback"} == {
        k: v for k, v in first.items() if k != "feedback"
    }
    status, missing = await get(seeded.proxy_url + "/api/calls/0000000000000000")
    assert status == 404 and "0000000000000000" in missing["error"]["message"]


async def test_healthz_reports_writer_state(seeded: Servers) -> None:
    status, body = await get(seeded.proxy_url + "/healthz")
    assert status == 200
    assert body["status"] == "ok" and body["written"] == 6 and body["lost"] == 0
    assert body["pending"] == 0 and body["dropped"] == 0


async def test_index_tells_a_new_user_what_to_do(servers: Servers) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(servers.proxy_url + "/") as resp:
            page = await resp.text()
    assert f"OPENAI_BASE_URL={servers.proxy_url}/v1" in page


async def test_storage_fault_never_breaks_the_app_and_shows_in_health(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    import sqlalchemy.exc
    from wiretrace_proxy.storage import writes as queries

    def broken(conn: object, records: object) -> None:
        raise sqlalchemy.exc.OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(queries, "insert_records", broken)
    client = openai.AsyncOpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    got = await client.chat.completions.create(model="gpt-4o", messages=[])
    assert got.choices[0].message.content  # the app's call succeeded
    await client.close()
    await asyncio.to_thread(servers.flush)
    status, body = await get(servers.proxy_url + "/healthz")
    assert status == 200 and body["status"] == "degraded" and body["storage_down"] is True
    assert body["reasons"][0].startswith("storage is refusing writes")
    assert (body["lost"], body["spool_pending"]) == (0, 1)  # kept on disk, not lost
    assert body["storage_errors"] >= 1 and "disk I/O error" in body["last_error"]
    monkeypatch.undo()
    client = openai.AsyncOpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    await client.chat.completions.create(model="gpt-4o", messages=[])
    await client.close()
    deadline = asyncio.get_running_loop().time() + 10
    while (await get(servers.proxy_url + "/healthz"))[1]["spool_pending"]:
        assert asyncio.get_running_loop().time() < deadline, "the spool was not replayed"
        await asyncio.sleep(0.05)  # the writer retries after its backoff: nothing to await
    records = await asyncio.to_thread(servers.records)
    assert len(records) == 2  # storage came back: the spooled call, then the new one
    status, body = await get(servers.proxy_url + "/healthz")
    assert (body["status"], body["reasons"]) == ("ok", [])
    assert (body["lost"], body["spooled"], body["replayed"]) == (0, 2, 2)  # kept in order


# --- the query API over a seeded database: filters ----------------------------------------


@pytest.fixture
def many(servers: Servers) -> Servers:
    seed.insert(servers.app[ENGINE], seed.build())
    return servers


def _median(values: list[Any]) -> Any:
    present = sorted({v for v in values if v is not None})
    return present[len(present) // 2]


def _tokens(call: dict[str, Any]) -> Any:
    return call["usage"]["total_tokens"] if call["usage"] else None


def _text(call: dict[str, Any]) -> str:
    return json.dumps([call["inputs"], call["output"]], ensure_ascii=False)


async def test_every_filter_parameter_selects_exactly_the_calls_it_names(many: Servers) -> None:
    """Each parameter, on its own, returns exactly the calls its rule holds for: some, not all."""
    url = f"{many.proxy_url}/api/calls"
    status, body = await get(f"{url}?limit=1000")
    assert status == 200 and body["next_cursor"] is None
    everything: list[dict[str, Any]] = body["calls"]
    assert len(everything) == len(seed.build())
    ids = {c["id"] for c in everything}
    liked, disliked = everything[0]["id"], everything[1]["id"]
    async with aiohttp.ClientSession() as session:
        for call_id, thumbs in ((liked, "up"), (disliked, "down")):
            async with session.post(f"{url}/{call_id}/feedback", json={"thumbs": thumbs}) as r:
                assert r.status == 201

    def at(call: dict[str, Any]) -> datetime:
        return datetime.fromisoformat(call["started_at"].replace("Z", "+00:00"))

    middle = sorted(everything, key=at)[len(everything) // 2]
    cases: list[tuple[str, str, Any]] = []  # parameter, value, which calls it must return
    for name in filters.EXACT:
        value = next(c[name] for c in everything if c[name] is not None)
        cases.append((name, value, lambda c, name=name, value=value: c[name] == value))
    for name, read in (
        ("latency_ms", lambda c: c["latency_ms"]),
        ("tokens", _tokens),
        ("cost", lambda c: c["cost_usd"]),
    ):
        bound = _median([read(c) for c in everything])
        cases.append(
            (f"min_{name}", str(bound), lambda c, r=read, b=bound: r(c) is not None and r(c) >= b)
        )
        cases.append(
            (f"max_{name}", str(bound), lambda c, r=read, b=bound: r(c) is not None and r(c) <= b)
        )
    cases += [
        ("since", middle["started_at"], lambda c: at(c) >= at(middle)),
        ("until", middle["started_at"], lambda c: at(c) < at(middle)),
        ("q", "café", lambda c: "café" in _text(c)),
        (
            "roots_only",
            "true",
            lambda c: c["parent_id"] in (None, c["id"]) or c["parent_id"] not in ids,
        ),
        ("feedback", "up", lambda c: c["id"] == liked),
        ("feedback", "down", lambda c: c["id"] == disliked),
        ("feedback", "any", lambda c: c["id"] in (liked, disliked)),
        ("feedback", "none", lambda c: c["id"] not in (liked, disliked)),
        ("property.env", "staging", lambda c: c["attributes"]["properties"]["env"] == "staging"),
    ]
    assert {name for name, _, _ in cases} == {*filters.PARAMS, "property.env"}
    for name, value, holds in cases:
        query = urlencode({name: value, "limit": 1000})
        status, body = await get(f"{url}?{query}")
        assert status == 200, (name, body)
        got = {c["id"] for c in body["calls"]}
        want = {c["id"] for c in everything if holds(c)}
        assert got == want, (name, value, got ^ want)
        assert 0 < len(want) < len(everything), (name, value)


@pytest.mark.parametrize(
    ("query", "param", "listed"),
    [
        ("sort=price", "sort", "completion_tokens"),
        ("sort=--latency_ms", "sort", "cost_usd"),
        ("min_latency_ms=fast", "min_latency_ms", "number"),
        ("max_cost=nan", "max_cost", "finite"),
        ("since=yesterday", "since", "ISO 8601"),
        ("feedback=maybe", "feedback", "up, down, any, none"),
        ("roots_only=perhaps", "roots_only", "true or false"),
        ("kind=robot", "kind", "llm, op, tool"),
        ("status=weird", "status", "ok, error, cancelled, running"),
        ("limit=1001", "limit", "between 1 and 1000"),
        ("colour=red", "colour", "property.<key>"),
    ],
)
async def test_bad_parameters_name_themselves_and_what_is_allowed(
    many: Servers, query: str, param: str, listed: str
) -> None:
    status, body = await get(f"{many.proxy_url}/api/calls?{query}")
    assert status == 400 and body["error"]["param"] == param
    assert listed in body["error"]["message"]


async def test_a_cursor_from_another_sort_is_refused(many: Servers) -> None:
    _, first = await get(f"{many.proxy_url}/api/calls?sort=-latency_ms&limit=5")
    cursor = first["next_cursor"]
    status, body = await get(f"{many.proxy_url}/api/calls?sort=latency_ms&cursor={cursor}")
    assert status == 400 and body["error"]["param"] == "cursor"
    assert "sort=-latency_ms" in body["error"]["message"]
    status, _ = await get(f"{many.proxy_url}/api/calls?sort=-latency_ms&cursor={cursor}")
    assert status == 200


@pytest.mark.parametrize("sort", [f"{s}{k}" for k in calls_query.SORT_KEYS for s in ("-", "")])
async def test_paging_loses_and_repeats_nothing_while_calls_are_written(
    many: Servers, sort: str
) -> None:
    """New calls with values all over the range (and NULLs, and ties with the cursor) are
    written between page fetches; the calls that existed at the start each appear once."""
    _, everything = await get(f"{many.proxy_url}/api/calls?limit=1000&sort={sort}")
    existing = [c["id"] for c in everything["calls"]]
    rng = random.Random(sort)
    seen: list[str] = []
    cursor = None
    for page in range(100):
        url = f"{many.proxy_url}/api/calls?limit=6&sort={sort}"
        status, body = await get(url + (f"&cursor={cursor}" if cursor else ""))
        assert status == 200
        seen += [c["id"] for c in body["calls"]]
        last = body["calls"][-1]
        newcomers = [_like(rng, rng.choice(everything["calls"]), page, n) for n in range(4)]
        newcomers.append(_like(rng, last, page, 9))  # same sort value as the cursor row
        seed.insert(many.app[ENGINE], newcomers)
        cursor = body["next_cursor"]
        if cursor is None:
            break
    kept = [i for i in seen if i in set(existing)]
    assert sorted(kept) == sorted(existing) and len(kept) == len(set(kept))


def _like(rng: random.Random, row: dict[str, Any], page: int, n: int) -> CallRecord:
    """A new call with ``row``'s sort values (so it ties with it) and a random id."""
    record = seed.make_record(
        rng,
        started_at=datetime.fromisoformat(row["started_at"]),
        trace_id=f"{rng.getrandbits(128):032x}",
        parent_id=None,
        kind="llm",
        index=page * 10 + n,
    )
    usage = row["usage"]
    record.latency_ms, record.ttft_ms, record.cost_usd = (
        row["latency_ms"],
        row["ttft_ms"],
        row["cost_usd"],
    )
    record.usage = Usage(**usage) if usage else None
    return record


async def test_unicode_and_metacharacter_search_over_http(many: Servers) -> None:
    for q, expect_some in [("café", True), ("日本語", True), ("🚀", True), ("100%", True)]:
        status, body = await get(f"{many.proxy_url}/api/calls?{urlencode({'q': q})}")
        assert status == 200 and bool(body["calls"]) == expect_some, q
        for call in body["calls"]:
            assert q in json.dumps([call["inputs"], call["output"]], ensure_ascii=False)
    status, body = await get(f"{many.proxy_url}/api/calls?{urlencode({'q': '100_'})}")
    assert status == 200 and body["calls"] == []  # "_" is not a wildcard


async def test_listed_calls_carry_a_feedback_summary(many: Servers) -> None:
    _, listing = await get(f"{many.proxy_url}/api/calls?limit=3")
    target = listing["calls"][1]["id"]
    async with aiohttp.ClientSession() as session:
        for body in ({"thumbs": "up"}, {"thumbs": "down"}, {"name": "acc", "score": 0.5}):
            async with session.post(
                f"{many.proxy_url}/api/calls/{target}/feedback", json=body
            ) as resp:
                assert resp.status == 201
    _, listing = await get(f"{many.proxy_url}/api/calls?limit=3")
    assert [c["feedback"] for c in listing["calls"]] == [
        None,
        {"up": 1, "down": 1, "notes": 0, "scores": {"acc": 0.5}},
        None,
    ]
    _, filtered = await get(f"{many.proxy_url}/api/calls?feedback=down")
    assert [c["id"] for c in filtered["calls"]] == [target]
