"""A long stream shows as a ``running`` record while it runs; its final record replaces it.

The final record takes the running row's place in the same transaction: one row per call,
and the stats rollups count the call once.
"""

from __future__ import annotations

import asyncio

import openai
import pytest
import sqlalchemy as sa
from wiretrace_proxy.appkeys import ENGINE, WRITER
from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.forward import handler
from wiretrace_proxy.storage import calls as stored

from tests.harness import Servers

KEY = "sk-running-test-00000000000000000000000000"


async def _records(servers: Servers) -> list[tuple[str, str, object]]:
    def read() -> list[tuple[str, str, object]]:
        servers.app[WRITER].flush(10)
        with servers.app[ENGINE].connect() as conn:
            rows = conn.execute(sa.text("SELECT id, status, ended_at FROM calls")).all()
        return [(r[0], r[1], r[2]) for r in rows]

    return await asyncio.to_thread(read)


def _get(servers: Servers, call_id: str) -> CallRecord:
    """The stored record without waiting for in-flight calls (one is held open)."""
    with servers.app[ENGINE].connect() as conn:
        found = stored.get_call(conn, call_id)
    assert found is not None
    return found


async def _rollup_calls(servers: Servers) -> int:
    def read() -> int:
        with servers.app[ENGINE].connect() as conn:
            total = conn.execute(sa.text("SELECT SUM(calls) FROM call_rollups")).scalar()
        return int(total or 0)

    return await asyncio.to_thread(read)


async def test_a_long_stream_is_running_then_replaced_by_its_final_record(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handler, "RUNNING_AFTER_S", 0.2)
    client = openai.AsyncOpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    stream = await client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        extra_headers={"x-fake-scenario": "hold"},
    )
    pieces: list[str] = []
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        if pieces:
            break  # the upstream holds the stream after this chunk until released
    deadline = asyncio.get_running_loop().time() + 10
    while not (rows := await _records(servers)):
        assert asyncio.get_running_loop().time() < deadline, "no running record"
        await asyncio.sleep(0.05)  # the record appears after RUNNING_AFTER_S: nothing to await
    ((call_id, status, ended_at),) = rows
    assert (status, ended_at) == ("running", None)
    running = await asyncio.to_thread(_get, servers, call_id)
    assert running.inputs is not None and running.latency_ms is None
    servers.in_loop(servers.fake.release.set)
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
    await client.close()
    await asyncio.to_thread(servers.flush)
    rows = await _records(servers)
    assert [(i, s) for i, s, _ in rows] == [(call_id, "ok")]
    final = servers.record(call_id)
    assert final.ended_at is not None and final.latency_ms is not None
    assert final.output is not None
    assert await _rollup_calls(servers) == 1
    stats = servers.app[WRITER].stats()
    assert (stats.written, stats.lost) == (1, 0)


async def test_a_short_stream_gets_no_running_record(servers: Servers) -> None:
    client = openai.AsyncOpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    stream = await client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    async for _ in stream:
        pass
    await client.close()
    await asyncio.to_thread(servers.flush)
    assert [s for _, s, _ in await _records(servers)] == ["ok"]
    assert servers.app[WRITER].stats().written == 1
