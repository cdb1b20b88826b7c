"""``/api/calls``, ``/api/calls/{id}``, ``/healthz`` (design.md: shapes the API returns)."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp
import openai
import pytest

from tests.harness import Servers

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
    import sqlalchemy.exc
    from wiretrace_proxy.storage import queries

    def broken(conn: object, records: object) -> None:
        raise sqlalchemy.exc.OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(queries, "insert_records", broken)
    client = openai.AsyncOpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    got = await client.chat.completions.create(model="gpt-4o", messages=[])
    assert got.choices[0].message.content  # the app's call succeeded
    await client.close()
    import asyncio

    await asyncio.to_thread(servers.flush)
    status, body = await get(servers.proxy_url + "/healthz")
    assert status == 200 and body["status"] == "degraded"
    assert body["lost"] == 1 and body["storage_errors"] >= 1
    assert "disk I/O error" in body["last_error"]
    monkeypatch.undo()
    client = openai.AsyncOpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    await client.chat.completions.create(model="gpt-4o", messages=[])
    await client.close()
    records = await asyncio.to_thread(servers.records)
    assert len(records) == 1  # storage came back: recording resumed
