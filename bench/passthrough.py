"""A bare aiohttp reverse proxy with no recording: the benchmark's baseline.

The same shape as a good hand-written forwarder (and as wiretrace's own forwarding, minus
the capture): one shared ``ClientSession(auto_decompress=False)`` with an unbounded
keep-alive pool, the request body read whole and sent on, a ``StreamResponse`` and
``iter_any`` -> ``write`` for the response. No parsing, no logging, no bookkeeping.

Run: ``python bench/passthrough.py --upstream http://127.0.0.1:U --port 0`` prints
``READY <port>`` once listening. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

HOST = "127.0.0.1"
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_REQUEST_DROP = HOP_BY_HOP | {"host", "content-length"}

SESSION = web.AppKey("session", aiohttp.ClientSession)
UPSTREAM = web.AppKey("upstream", str)


async def forward(request: web.Request) -> web.StreamResponse:
    """Send the request upstream and stream the answer back as it arrives."""
    headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _REQUEST_DROP]
    body = await request.read() if request.body_exists else None
    url = request.app[UPSTREAM] + request.raw_path
    session = request.app[SESSION]
    async with session.request(
        request.method, url, headers=headers, data=body, allow_redirects=False
    ) as upstream:
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        for name, value in upstream.headers.items():
            if name.lower() not in HOP_BY_HOP:
                response.headers.add(name, value)
        await response.prepare(request)
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)
        await response.write_eof()
        return response


async def _session(app: web.Application) -> AsyncIterator[None]:
    connector = aiohttp.TCPConnector(limit=0)
    session = aiohttp.ClientSession(
        connector=connector,
        auto_decompress=False,
        timeout=aiohttp.ClientTimeout(total=None, connect=30, sock_read=600),
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        cookie_jar=aiohttp.DummyCookieJar(),
    )
    app[SESSION] = session
    yield
    await session.close()


def create_app(upstream: str) -> web.Application:
    """The pass-through application forwarding ``/v1/*`` to ``upstream``."""
    app = web.Application(client_max_size=1024**4)
    app[UPSTREAM] = upstream.rstrip("/")
    app.cleanup_ctx.append(_session)
    app.router.add_route("*", "/v1/{tail:.*}", forward)
    return app


async def serve(upstream: str, port: int) -> None:
    """Listen on loopback until killed; print ``READY <port>`` once bound."""
    runner = web.AppRunner(create_app(upstream), access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, HOST, port)  # aiohttp's default backlog, as wiretrace
    await site.start()
    print(f"READY {runner.addresses[0][1]}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:9000")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.upstream, args.port))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
