"""HTTPS servers on loopback with trustme CAs: the fake OpenAI upstream posing as
``api.openai.com`` (reached through ``--route``), and a plain non-LLM site on ``localhost``.
"""

from __future__ import annotations

import asyncio
import gc
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import trustme
from aiohttp import web

from tests.harness import LoopThread


@dataclass(frozen=True)
class TlsSite:
    url: str
    port: int
    ca_file: Path
    """The trustme CA that issued the site's certificate (PEM)."""


async def _start(app: web.Application, context: ssl.SSLContext) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    return runner, int(runner.addresses[0][1])


async def _abort_leftover_transports() -> None:
    """Abort the sockets a graceful TLS shutdown still holds after ``cleanup``.

    A closing TLS connection waits for the peer's close_notify (up to the loop's SSL
    shutdown timeout); when the peer was a process that has just exited, the loop can stop
    first and leave the socket unclosed (a ResourceWarning at collection)."""
    loop = asyncio.get_running_loop()
    for transport in [o for o in gc.get_objects() if isinstance(o, asyncio.Transport)]:
        if getattr(transport, "_loop", None) is loop and getattr(transport, "_sock", None):
            transport.abort()
    await asyncio.sleep(0)  # the aborts' connection_lost callbacks


@contextmanager
def tls_site(app: web.Application, names: list[str], directory: Path) -> Iterator[TlsSite]:
    """``app`` served over TLS with a certificate for ``names`` from a new CA."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    ca_file = directory / f"ca-{names[0]}.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    thread = LoopThread()
    runner, port = thread.call(_start(app, context))
    try:
        yield TlsSite(f"https://127.0.0.1:{port}", port, ca_file)
    finally:
        thread.call(runner.cleanup())
        thread.call(_abort_leftover_transports())
        thread.close()


def hello_app() -> web.Application:
    """A non-LLM site: ``GET /`` answers ``hello``."""

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    app = web.Application()
    app.router.add_get("/", hello)
    return app
