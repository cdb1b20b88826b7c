"""Run the app until SIGTERM/SIGINT, then stop cleanly (drain, flush, exit 0).

aiohttp's documented shutdown order does the work: stop accepting, wait up to
``drain_timeout`` for in-flight calls, then run the cleanup contexts in reverse (upstream
pool closed, writer drained so every record is written, database disposed).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from aiohttp import web

from wiretrace_proxy.app import create_app
from wiretrace_proxy.settings import MEMORY_URL, Settings
from wiretrace_proxy.ui import STATIC

log = logging.getLogger(__name__)


def serve(settings: Settings) -> None:
    asyncio.run(run(settings))


async def run(settings: Settings, started: asyncio.Event | None = None) -> None:
    app = create_app(settings)
    runner = web.AppRunner(
        app, handler_cancellation=True, shutdown_timeout=settings.drain_timeout, access_log=None
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        _banner(settings, runner)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if started is not None:
            started.set()
        await stop.wait()
        log.info("server: stopping: draining in-flight calls and pending records")
    finally:
        await runner.cleanup()
    log.info("server: stopped cleanly")


def _banner(settings: Settings, runner: web.AppRunner) -> None:
    addresses = runner.addresses
    port = addresses[0][1] if addresses else settings.port
    lines = banner_lines(settings, port, ui_built=(STATIC / "index.html").is_file())
    print("\n".join(lines), file=sys.stdout, flush=True)


def banner_lines(settings: Settings, port: int, *, ui_built: bool) -> list[str]:
    """What a newcomer needs first: where to point the app, where to look, what is kept.

    The UI line only promises a UI the install has (``make web`` builds it into the
    package); the storage line says plainly when nothing survives the process.
    """
    host = settings.host if settings.host not in ("0.0.0.0", "::") else "127.0.0.1"
    base = f"http://{host}:{port}"
    ui = f"{base}/" if ui_built else "not built in this install (run `make web` in a checkout)"
    url = settings.database_url
    stored = "memory only: nothing is kept after exit" if url == MEMORY_URL else _safe(url)
    return [
        f"wiretrace is recording calls to {settings.upstream_base}",
        f"  point your app at:  OPENAI_BASE_URL={base}/v1",
        f"  web UI:             {ui}",
        f"  JSON API:           {base}/api/calls",
        f"  data stored in:     {stored}",
    ]


def _safe(url: str) -> str:
    """A database URL without its password."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest and ":" in rest.split("@", 1)[0]:
        user = rest.split("@", 1)[0].split(":", 1)[0]
        rest = f"{user}:***@{rest.split('@', 1)[1]}"
    return f"{scheme}{sep}{rest}"
