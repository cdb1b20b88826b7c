"""A compressed request body is forwarded as the app sent it and recorded inflated.

aiohttp's server inflates a ``Content-Encoding: gzip`` body by default; forwarded like that
under the app's own ``Content-Encoding`` and ``Content-Length``, the upstream would read a
broken request (and the call hung). The upstream here reads the raw bytes.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.proxy.process import ServerProcess, get_call

BODY = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi " * 50}]})
ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hello"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 51, "completion_tokens": 1, "total_tokens": 52},
}


@pytest.fixture
async def raw_upstream() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """An upstream that keeps each request's headers and raw body (nothing inflated)."""
    seen: list[dict[str, Any]] = []

    async def chat(request: web.Request) -> web.Response:
        seen.append({"headers": dict(request.headers), "body": await request.read()})
        return web.json_response(ANSWER)

    app = web.Application(handler_args={"auto_decompress": False})
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    ("coding", "compress"),
    [("gzip", gzip.compress), ("deflate", zlib.compress)],
)
async def test_a_compressed_body_goes_upstream_byte_for_byte_and_is_recorded_as_json(
    raw_upstream: tuple[str, list[dict[str, Any]]], tmp_path: Path, coding: str, compress: Any
) -> None:
    url, seen = raw_upstream
    server = await asyncio.to_thread(ServerProcess, url, tmp_path / "w.db")
    try:
        sent = compress(BODY.encode())
        headers = {"Content-Encoding": coding, "Content-Type": "application/json"}
        async with aiohttp.ClientSession() as session:
            async with session.post(
                server.url + "/v1/chat/completions",
                data=sent,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=20),
            ) as resp:
                assert resp.status == 200
                assert (await resp.json())["choices"][0]["message"]["content"] == "hello"
                call_id = resp.headers["Wiretrace-Call-Id"]
        assert seen[0]["body"] == sent
        assert seen[0]["headers"]["Content-Encoding"] == coding
        assert int(seen[0]["headers"]["Content-Length"]) == len(sent)
        record: Any = await asyncio.to_thread(get_call, server.url, call_id)
        assert record["inputs"] == json.loads(BODY)
        assert record["model"] == "gpt-4o" and record["status"] == "ok"
    finally:
        await asyncio.to_thread(server.stop)
