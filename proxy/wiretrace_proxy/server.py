"""Run the app until SIGTERM/SIGINT, then stop within one deadline and say what was lost.

The stop (``stopping``): stop accepting, let in-flight calls finish, cancel what still runs
when only the writer's reserve is left, then aiohttp's cleanup contexts in reverse
(upstream pool closed, writer drained with what is left of ``drain_timeout``, database
disposed). The exit status is the truth about the records: 0 when every record submitted
was stored, 1 with one error line counting those that were not (pending, lost, dropped).

``serve`` runs on uvloop where it is installed (not on Windows): a faster loop for the
proxy's many small reads and writes; asyncio's own loop otherwise, and in tests.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

from wiretrace_proxy.app import create_app
from wiretrace_proxy.appkeys import STOPPING, WRITER
from wiretrace_proxy.settings import MEMORY_URL, Settings
from wiretrace_proxy.ui import STATIC
from wiretrace_proxy.writer import WriterStats

if TYPE_CHECKING:
    from wiretrace_proxy.intercept.child import InterceptChild

log = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT = 0.25
"""aiohttp's own per-connection shutdown wait (applied twice). ``Stopping.drain`` has
already waited for and cancelled every call, so only a connection mid-way through its
request line is left for it; the deadline belongs to ``drain_timeout``."""


def serve(settings: Settings) -> int:
    """Run until stopped; the exit status (1 if records were left unstored).

    The process ends next: the objects it leaves are frozen out of the garbage collector,
    whose passes over them at interpreter exit took over a second (measured), time a
    container runtime counts towards its kill after SIGTERM."""
    try:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            return runner.run(run(settings))
    finally:
        gc.freeze()


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop if it is installed; None (asyncio's default) if not."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def run(settings: Settings, started: asyncio.Event | None = None) -> int:
    """Serve until SIGTERM/SIGINT, stop within ``settings.drain_timeout``; the exit status."""
    app = create_app(settings)
    runner = web.AppRunner(
        app, handler_cancellation=True, shutdown_timeout=SHUTDOWN_TIMEOUT, access_log=None
    )
    await runner.setup()
    intercept: InterceptChild | None = None
    otlp_runner: web.AppRunner | None = None
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        _banner(settings, runner)
        if settings.otlp_port is not None:
            from wiretrace_proxy.api.otlp import start_port

            otlp_runner = await start_port(app, settings.host, settings.otlp_port)
            log.info("server: OTLP/HTTP traces also at /v1/traces on port %d", settings.otlp_port)
        if settings.intercept_port is not None:
            from wiretrace_proxy.intercept.service import start_child

            intercept = await start_child(app, runner.addresses[0][1])
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        log.debug("server: event loop %s.%s", type(loop).__module__, type(loop).__qualname__)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if started is not None:
            started.set()
        await stop.wait()
        for sig in (signal.SIGTERM, signal.SIGINT):  # a second signal: stop waiting
            loop.add_signal_handler(sig, _exit_now, app)
        stopping = app[STOPPING]
        log.info(
            "server: stopping within %gs: %d calls in flight, then pending records",
            settings.drain_timeout,
            stopping.in_flight,
        )
        await stopping.drain(runner, settings.drain_timeout)
    finally:
        if otlp_runner is not None:  # stop taking exports before the writer drains
            await otlp_runner.cleanup()
        if intercept is None:
            await runner.cleanup()
        else:  # its calls were drained above; mitmproxy takes ~1.5 s to stop
            await asyncio.gather(intercept.stop(), runner.cleanup())
    return exit_status(app[WRITER].stats(), finished=app[STOPPING].writer_finished is not False)


def _exit_now(app: web.Application) -> None:
    """A second SIGTERM/SIGINT during the stop: exit at once, saying what that leaves."""
    count = unstored(app[WRITER].stats()) if WRITER in app else 0
    log.error("server: second signal, exiting now with %d records not stored", count)
    logging.shutdown()
    os._exit(1)


def unstored(stats: WriterStats) -> int:
    """Records submitted that are not in the database (nor kept in the spool)."""
    return stats.pending + stats.lost + stats.dropped


def exit_status(stats: WriterStats, *, finished: bool) -> int:
    """0 and "stopped cleanly", or 1 and one error line counting the records not stored
    (``finished``: the writer stopped before the deadline, nothing still in its hands)."""
    count = unstored(stats)
    if count == 0 and finished:
        if stats.spool_pending:
            log.warning(
                "server: stopped cleanly; %d records wait in the spool and are written to "
                "the database at the next start",
                stats.spool_pending,
            )
        else:
            log.info("server: stopped cleanly")
        return 0
    log.error(
        "server: stopped with %d records not stored (see /healthz counters: pending %d, "
        "lost %d, dropped %d)%s",
        count,
        stats.pending,
        stats.lost,
        stats.dropped,
        "" if finished else "; the writer missed the drain deadline with a batch unfinished",
    )
    return 1


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
        *access_lines(settings, port),
        f"  data stored in:     {stored}",
    ]


def access_lines(settings: Settings, port: int) -> list[str]:
    """Where the server really listens, who may use it, and a warning when anyone on the
    network may (``--insecure-no-auth``)."""
    from wiretrace_proxy.access.binding import is_loopback

    address = f"[{settings.host}]" if ":" in settings.host else settings.host
    local = is_loopback(settings.host)
    reach = "this machine only" if local else "other machines can connect"
    signed = bool(settings.auth_tokens or settings.auth_token_file)
    lines = [
        f"  listening on:       {address}:{port} ({reach})",
        f"  sign-in:            {'token required (--auth-token)' if signed else 'none'}",
    ]
    if settings.proxy_tokens:
        lines.append("  /v1 calls:          Wiretrace-Token header required (--proxy-token)")
    if not local and not signed:
        lines.append(
            "  WARNING: no --auth-token on a network address: anyone who can reach this "
            "port can read every recorded prompt"
        )
    return lines


def _safe(url: str) -> str:
    """A database URL without its password."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest and ":" in rest.split("@", 1)[0]:
        user = rest.split("@", 1)[0].split(":", 1)[0]
        rest = f"{user}:***@{rest.split('@', 1)[1]}"
    return f"{scheme}{sep}{rest}"
