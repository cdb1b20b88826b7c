"""A fake OpenAI upstream for the benchmark: ``POST /v1/chat/completions``, 0 ms think time.

Non-streamed requests get a ~600-byte ``chat.completion``. ``"stream": true`` gets an SSE
stream of OpenAI-shaped ``chat.completion.chunk`` events (a role chunk, content chunks, a
``finish_reason`` chunk; with ``stream_options.include_usage`` every chunk carries
``"usage":null`` and a usage-only chunk follows), then ``data: [DONE]``. Every chunk carries
``"created_ns"``: ``time.time_ns()`` when it was written, so a client on the same machine
can compute each chunk's transit delay directly.

Per-request knobs (request headers, so they pass through any proxy unchanged):
``X-Bench-Chunks`` (chunks of content, default ``--chunks``), ``X-Bench-Chunk-Delay-Ms``
(sleep between chunks, default ``--chunk-delay-ms``) and ``X-Bench-Hold: <group>``: send
the first chunk, then wait until ``POST /bench/release?group=<group>`` (or 120 s) before the
rest, so a client can hold many streams open at once.

Run: ``python bench/upstream_server.py --port 0`` prints ``READY <port>`` once listening.
Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time

from aiohttp import web

HOST = "127.0.0.1"
HOLD_LIMIT_S = 120.0
MODEL = "gpt-4o-mini-2024-07-18"
FINGERPRINT = "fp_0ba0d124f1"
WORDS = [
    "The",
    " quick",
    " brown",
    " fox",
    " jumps",
    " over",
    " the",
    " lazy",
    " dog",
    ",",
    " and",
    " then",
    " it",
    " rests",
    " in",
    " the",
    " warm",
    " afternoon",
    " sun",
    ".",
]
_COMMON_HEADERS = {
    "openai-organization": "user-bench",
    "openai-processing-ms": "0",
    "openai-version": "2020-10-01",
    "x-ratelimit-limit-requests": "30000",
    "x-ratelimit-remaining-requests": "29999",
}
_USAGE = (
    '{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d,'
    '"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},'
    '"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,'
    '"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}'
)
_COMPLETION = (
    '{"id":"chatcmpl-bench%08d","object":"chat.completion","created":%d,"model":"'
    + MODEL
    + '","choices":[{"index":0,"message":{"role":"assistant","content":"%s",'
    '"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],'
    '"usage":%s,"service_tier":"default","system_fingerprint":"' + FINGERPRINT + '"}'
)
_CHUNK = (
    '{"id":"chatcmpl-bench%08d","object":"chat.completion.chunk","created":%d,'
    '"created_ns":%d,"model":"'
    + MODEL
    + '","service_tier":"default","system_fingerprint":"'
    + FINGERPRINT
    + '","choices":[{"index":0,"delta":%s,"logprobs":null,"finish_reason":%s}]%s}'
)
_USAGE_CHUNK = (
    '{"id":"chatcmpl-bench%08d","object":"chat.completion.chunk","created":%d,'
    '"created_ns":%d,"model":"'
    + MODEL
    + '","service_tier":"default","system_fingerprint":"'
    + FINGERPRINT
    + '","choices":[],"usage":%s}'
)
PROMPT_TOKENS = 25
_ROLE_DELTA = '{"role":"assistant","content":"","refusal":null}'
_CONTENT_DELTAS = ['{"content":' + json.dumps(word) + "}" for word in WORDS]

_ids = itertools.count(1)


class Holds:
    """Named events that held streams wait on until ``/bench/release`` sets them."""

    def __init__(self) -> None:
        self.events: dict[str, asyncio.Event] = {}

    def get(self, group: str) -> asyncio.Event:
        return self.events.setdefault(group, asyncio.Event())


HOLDS = web.AppKey("holds", Holds)
DEFAULTS = web.AppKey("defaults", dict[str, str])


def _usage(completion_tokens: int) -> str:
    total = PROMPT_TOKENS + completion_tokens
    return _USAGE % (PROMPT_TOKENS, completion_tokens, total)


async def chat_completions(request: web.Request) -> web.StreamResponse:
    """The endpoint: a chat.completion, or an SSE stream of chunks."""
    try:
        body = json.loads(await request.read())
    except ValueError:
        return web.json_response({"error": {"message": "bad json", "type": "bad"}}, status=400)
    call = next(_ids)
    created = int(time.time())
    if not body.get("stream"):
        text = "".join(WORDS[:12])
        payload = _COMPLETION % (call, created, text, _usage(12))
        return web.Response(
            body=payload.encode(), content_type="application/json", headers=_COMMON_HEADERS
        )
    defaults = request.app[DEFAULTS]
    chunks = int(request.headers.get("X-Bench-Chunks", defaults["chunks"]))
    delay = float(request.headers.get("X-Bench-Chunk-Delay-Ms", defaults["delay_ms"])) / 1000
    options = body.get("stream_options") or {}
    include_usage = bool(options.get("include_usage"))
    hold = request.headers.get("X-Bench-Hold")
    return await _stream(request, call, created, chunks, delay, include_usage, hold)


async def _stream(
    request: web.Request,
    call: int,
    created: int,
    chunks: int,
    delay: float,
    include_usage: bool,
    hold: str | None,
) -> web.StreamResponse:
    response = web.StreamResponse(headers=_COMMON_HEADERS)
    response.content_type = "text/event-stream"
    response.charset = "utf-8"
    await response.prepare(request)
    tail = ',"usage":null' if include_usage else ""
    deltas = [_ROLE_DELTA]
    deltas += [_CONTENT_DELTAS[i % len(WORDS)] for i in range(chunks)]
    deltas.append("{}")
    for i, delta in enumerate(deltas):
        if i == 1 and hold is not None:
            try:
                await asyncio.wait_for(request.app[HOLDS].get(hold).wait(), HOLD_LIMIT_S)
            except TimeoutError:
                pass
        elif i > 0 and delay > 0:
            await asyncio.sleep(delay)
        finish = '"stop"' if i == len(deltas) - 1 else "null"
        data = _CHUNK % (call, created, time.time_ns(), delta, finish, tail)
        await response.write(b"data: " + data.encode() + b"\n\n")
    if include_usage:
        data = _USAGE_CHUNK % (call, created, time.time_ns(), _usage(chunks))
        await response.write(b"data: " + data.encode() + b"\n\n")
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


async def release(request: web.Request) -> web.Response:
    """Let every stream held under ``group`` continue (and forget the group)."""
    group = request.query.get("group", "")
    holds = request.app[HOLDS]
    holds.get(group).set()
    holds.events.pop(group, None)
    return web.json_response({"released": group})


def create_app(chunks: int = 20, delay_ms: float = 0.0) -> web.Application:
    """The fake upstream's application."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[HOLDS] = Holds()
    app[DEFAULTS] = {"chunks": str(chunks), "delay_ms": str(delay_ms)}
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/bench/release", release)
    return app


async def serve(port: int, chunks: int, delay_ms: float) -> None:
    """Listen on loopback until killed; print ``READY <port>`` once bound."""
    runner = web.AppRunner(create_app(chunks, delay_ms), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, port, backlog=4096)
    await site.start()
    bound = runner.addresses[0][1]
    print(f"READY {bound}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--chunk-delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.port, args.chunks, args.chunk_delay_ms))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
