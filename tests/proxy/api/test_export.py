"""``GET /api/calls/export?format=jsonl|csv``: same filters and sort, streamed.

The export takes the same filters and sort as the listing and streams: the whole result is
never held in memory. CSV columns are the scalar fields plus usage flattened, JSON fields as
JSON text; ``Content-Disposition: attachment; filename=wiretrace-calls.<ext>``.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import random
import threading
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
import sqlalchemy.exc
from sqlalchemy.engine import Connection
from wiretrace_proxy.api import export
from wiretrace_proxy.appkeys import ENGINE
from wiretrace_proxy.storage import listing as calls_query
from wiretrace_proxy.storage.filters import CallFilter
from wiretrace_proxy.storage.listing import Sort

from tests.harness import Servers
from tests.proxy import seed

RECORDS = seed.build()


@pytest.fixture
def seeded(servers: Servers) -> Servers:
    seed.insert(servers.app[ENGINE], RECORDS)
    return servers


async def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as resp:
            return resp.status, dict(resp.headers), await resp.read()


async def listing(servers: Servers, query: str) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{servers.proxy_url}/api/calls?limit=1000&{query}") as resp:
            calls: list[dict[str, Any]] = (await resp.json())["calls"]
    for call in calls:
        del call["feedback"]
    return calls


@pytest.mark.parametrize("query", ["", "sort=cost_usd&model=gpt-4o", "q=café&sort=-ttft_ms"])
async def test_jsonl_is_the_listing_one_record_per_line(seeded: Servers, query: str) -> None:
    status, headers, body = await fetch(f"{seeded.proxy_url}/api/calls/export?{query}")
    assert status == 200
    assert headers["Content-Type"] == "application/x-ndjson; charset=utf-8"
    assert headers["Content-Disposition"] == "attachment; filename=wiretrace-calls.jsonl"
    lines = body.decode().splitlines()
    assert [json.loads(line) for line in lines] == await listing(seeded, query)
    assert lines  # every case selects something


async def test_csv_has_scalar_columns_usage_flattened_and_json_text(seeded: Servers) -> None:
    url = f"{seeded.proxy_url}/api/calls/export?format=csv&sort=-total_tokens"
    status, headers, body = await fetch(url)
    assert status == 200 and headers["Content-Type"] == "text/csv; charset=utf-8"
    assert headers["Content-Disposition"] == "attachment; filename=wiretrace-calls.csv"
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))
    expected = await listing(seeded, "sort=-total_tokens")
    assert [r["id"] for r in rows] == [c["id"] for c in expected]
    for row, call in zip(rows, expected, strict=True):
        assert list(row) == list(export.CSV_COLUMNS)
        usage = call["usage"] or {}
        assert row["total_tokens"] == str(usage.get("total_tokens") or "")
        assert row["started_at"] == call["started_at"]
        assert row["latency_ms"] == ("" if call["latency_ms"] is None else str(call["latency_ms"]))
        for name in ("inputs", "output", "attributes"):
            assert json.loads(row[name]) == call[name]
        if call["error"] is None:
            assert row["error"] == ""
        else:
            assert json.loads(row["error"]) == call["error"]
    assert any("日本語" in row["inputs"] for row in rows)  # unicode as text, not \\u escapes


@pytest.mark.parametrize(
    ("query", "param"), [("format=xml", "format"), ("sort=price", "sort"), ("cursor=x", "cursor")]
)
async def test_bad_parameters_get_400(seeded: Servers, query: str, param: str) -> None:
    status, _, body = await fetch(f"{seeded.proxy_url}/api/calls/export?{query}")
    assert status == 400 and json.loads(body)["error"]["param"] == param


async def test_an_empty_export_is_a_header_only_csv(seeded: Servers) -> None:
    status, _, body = await fetch(f"{seeded.proxy_url}/api/calls/export?format=csv&model=none")
    assert status == 200 and body.decode() == ",".join(export.CSV_COLUMNS) + "\r\n"


def _big(count: int) -> Iterator[list[Any]]:
    """``count`` calls of ~2 KB each, in batches."""
    template = seed.build(traces=1)[2]
    for start in range(0, count, 5000):
        batch = []
        for i in range(start, min(count, start + 5000)):
            record = seed.make_record(
                random.Random(i),
                started_at=template.started_at,
                trace_id=template.trace_id,
                parent_id=None,
                kind="llm",
                index=i,
            )
            record.inputs = {"messages": [{"role": "user", "content": f"{i} " + "x" * 2000}]}
            batch.append(record)
        yield batch


async def test_export_memory_stays_flat_for_50k_calls(servers: Servers) -> None:
    for batch in _big(50_000):
        seed.insert(servers.app[ENGINE], batch)
    tracemalloc.start()
    try:
        received = lines = 0
        async with aiohttp.ClientSession() as session:
            url = f"{servers.proxy_url}/api/calls/export?format=jsonl"
            async with session.get(url) as resp:
                async for chunk in resp.content.iter_chunked(256 * 1024):
                    received += len(chunk)
                    lines += chunk.count(b"\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == 50_000 and received > 100 * 1024 * 1024
    assert peak < 16 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for {received / 2**20:.0f} MiB"


async def test_a_client_that_leaves_stops_the_export_thread(servers: Servers) -> None:
    for batch in _big(20_000):
        seed.insert(servers.app[ENGINE], batch)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{servers.proxy_url}/api/calls/export") as resp:
            await resp.content.readexactly(1024)
    # (the session closed the connection with most of the export unread)
    workers = [t for t in threading.enumerate() if t.name == "wiretrace-export"]
    for worker in workers:
        worker.join(10)
        assert not worker.is_alive()
    # The writer's text indexer borrows a connection now and then (the seeded calls are
    # queued for it), so wait for a moment when none is out: a leaked one never returns.
    pool = servers.app[ENGINE].pool
    deadline = time.monotonic() + 20
    while pool.checkedout() and time.monotonic() < deadline:  # type: ignore[attr-defined]
        await asyncio.sleep(0.01)
    assert pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_storage_failing_before_the_first_byte_is_a_503(
    seeded: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(conn: Connection, f: CallFilter, sort: Sort, batch_size: int) -> Iterator[Any]:
        raise sqlalchemy.exc.OperationalError("SELECT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(export, "iter_batches", broken)
    status, _, body = await fetch(f"{seeded.proxy_url}/api/calls/export")
    assert status == 503 and json.loads(body)["error"]["message"]


async def test_storage_failing_mid_stream_never_looks_like_a_complete_file(
    seeded: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(
        conn: Connection, f: CallFilter, sort: Sort, batch_size: int, raw_json: bool = False
    ) -> Iterator[Any]:
        yield from calls_query.iter_batches(conn, f, sort, 3, raw_json)
        raise sqlalchemy.exc.OperationalError("SELECT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(export, "iter_batches", failing)
    with pytest.raises(aiohttp.ClientPayloadError):
        await fetch(f"{seeded.proxy_url}/api/calls/export")
