"""The server as a process: SIGTERM drains and flushes, big uploads stream, any language works."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.fakes.fake_streams import ANSWER
from tests.harness import fake_upstream_url
from tests.proxy.process import ServerProcess, get_call


@pytest.fixture
def upstream() -> Iterator[str]:
    with fake_upstream_url() as url:
        yield url


def rows(db: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT id, status, http_status FROM calls").fetchall()


async def _chat(session: aiohttp.ClientSession, url: str, i: int) -> str | None:
    body = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": f"call {i}"}],
        "stream": True,
    }
    try:
        async with session.post(
            url + "/v1/chat/completions", json=body, headers={"x-fake-scenario": "drip_0.02"}
        ) as resp:
            text = await resp.text()
            assert resp.status == 200 and "[DONE]" in text
            return resp.headers["Wiretrace-Call-Id"]
    except aiohttp.ClientError:
        return None


async def test_sigterm_during_burst_loses_no_completed_call(upstream: str, tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    server = ServerProcess(upstream, db)
    async with aiohttp.ClientSession() as session:
        calls = [asyncio.ensure_future(_chat(session, server.url, i)) for i in range(60)]  # noqa: TID251
        await asyncio.sleep(0.3)  # let the burst get going: SIGTERM must land mid-flight
        code, out = await asyncio.to_thread(server.stop)
        ids = await asyncio.gather(*calls)
    assert code == 0, out
    completed = {i for i in ids if i is not None}
    assert len(completed) >= 1
    stored = {row[0]: row for row in rows(db)}
    assert completed <= set(stored), "a call the app completed is missing from the database"
    assert all(stored[i][1] == "ok" for i in completed)


async def test_fifty_megabyte_upload_streams_with_flat_memory(
    upstream: str, tmp_path: Path
) -> None:
    server = ServerProcess(upstream, tmp_path / "w.db")
    try:
        before = server.rss_bytes()
        size = 50 * 1024 * 1024

        async def body() -> AsyncIterator[bytes]:
            block = bytes(range(256)) * 4096  # 1 MiB
            for _ in range(size // len(block)):
                yield block

        form = aiohttp.FormData()
        form.add_field("model", "whisper-1")
        form.add_field("file", body(), filename="big.wav", content_type="audio/wav")
        async with aiohttp.ClientSession() as session:
            async with session.post(server.url + "/v1/audio/transcriptions", data=form) as resp:
                result = await resp.json()
                call_id = resp.headers["Wiretrace-Call-Id"]
        assert resp.status == 200 and result["bytes"] > size
        growth = server.rss_bytes() - before
        assert growth < 20 * 1024 * 1024, f"proxy RSS grew by {growth / 2**20:.1f} MiB"
        record: Any = await asyncio.to_thread(get_call, server.url, call_id)
        assert record["inputs"]["bytes"] > size
        assert record["inputs"]["fields"] == {"model": "whisper-1"}
        assert record["inputs"]["files"][0]["filename"] == "big.wav"
        assert record["inputs"]["truncated"] is True
    finally:
        server.stop()


@pytest.mark.parametrize("db", [":memory:", "sqlite://", "sqlite:///:memory:"])
def test_memory_database_records_across_threads_and_keeps_nothing(
    upstream: str, tmp_path: Path, db: str
) -> None:
    """The writer thread stores a call that the API threads then read back: one database."""
    server = ServerProcess(upstream, tmp_path / "unused.db", "--db", db, "--key-salt", "s")
    try:
        body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
        request = urllib.request.Request(
            server.url + "/v1/chat/completions",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as resp:
            call_id = resp.headers["Wiretrace-Call-Id"]
        record: Any = get_call(server.url, call_id)
        assert record["status"] == "ok" and record["model"] == "gpt-4o"
    finally:
        code, out = server.stop()
    assert code == 0, out
    assert "data stored in:     memory only: nothing is kept after exit" in out
    assert not Path(":memory:").exists() and not (tmp_path / "unused.db").exists()


def test_curl_stream_through_proxy(upstream: str, tmp_path: Path) -> None:
    curl = shutil.which("curl")
    assert curl, "curl is installed by .ci/run"
    server = ServerProcess(upstream, tmp_path / "w.db")
    try:
        body = json.dumps(
            {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        )
        direct = subprocess.run(
            [
                curl,
                "-sN",
                upstream + "/v1/chat/completions",
                "-H",
                "Content-Type: application/json",
                "-d",
                body,
            ],
            capture_output=True,
            timeout=30,
            check=True,
        ).stdout
        proxied = subprocess.run(
            [
                curl,
                "-sN",
                server.url + "/v1/chat/completions",
                "-H",
                "Content-Type: application/json",
                "-H",
                "Authorization: Bearer sk-curl-test-key-1234567890",
                "-d",
                body,
            ],
            capture_output=True,
            timeout=30,
            check=True,
        ).stdout
        assert proxied == direct and b"[DONE]" in proxied
    finally:
        server.stop()


NODE_CLIENT = r"""
const [base, traceparent] = process.argv.slice(2);
const res = await fetch(base + "/v1/chat/completions", {
  method: "POST",
  headers: {"Content-Type": "application/json",
            "Authorization": "Bearer sk-node-1234567890abcdef",
            "traceparent": traceparent, "Wiretrace-Session-Id": "node-session"},
  body: JSON.stringify({model: "gpt-4o", stream: true, messages: [{role: "user", content: "hi"}]}),
});
let text = "";
for await (const chunk of res.body) text += Buffer.from(chunk).toString("utf8");
const content = text.split("\n\n").filter(l => l.startsWith("data: {"))
  .map(l => JSON.parse(l.slice(6))).map(c => c.choices[0]?.delta?.content ?? "").join("");
const id = res.headers.get("wiretrace-call-id");
console.log(JSON.stringify({status: res.status, id, content}));
"""


def test_node_fetch_client_with_traceparent(upstream: str, tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "node is installed by .ci/run"
    server = ServerProcess(upstream, tmp_path / "w.db")
    try:
        script = tmp_path / "client.mjs"
        script.write_text(NODE_CLIENT)
        tp = "00-11111111111111111111111111111111-2222222222222222-01"
        out = subprocess.run(
            [node, str(script), server.url, tp],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        result = json.loads(out)
        assert result["status"] == 200 and result["content"] == ANSWER
        record: Any = get_call(server.url, result["id"])
        assert record["trace_id"] == "1" * 32 and record["parent_id"] == "2" * 16
        assert record["session_id"] == "node-session"
        assert record["output"]["choices"][0]["message"]["content"] == ANSWER
        assert record["usage_source"] == "injected"
    finally:
        server.stop()


async def test_a_second_sigterm_ends_a_long_drain_at_once(upstream: str, tmp_path: Path) -> None:
    """The first SIGTERM drains (a held stream may take the whole deadline); a second one
    is the operator saying "now": exit 1 within a moment, with one line saying so."""
    server = ServerProcess(upstream, tmp_path / "w.db", "--drain-timeout", "60")
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hold"}], "stream": True}
    async with aiohttp.ClientSession() as session:
        async with session.post(
            server.url + "/v1/chat/completions", json=body, headers={"x-fake-scenario": "hold"}
        ) as resp:
            await resp.content.readany()  # the stream is open and held by the upstream
            server.proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(1.0)
            assert server.proc.poll() is None, "the first SIGTERM must wait for the stream"
            started = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(server.proc.wait, 10)
            elapsed = time.monotonic() - started
    out, _ = server.proc.communicate()  # closes the pipe
    assert code == 1, out
    assert elapsed < 5, f"took {elapsed:.1f}s after the second signal"
    assert "second signal, exiting now" in out
