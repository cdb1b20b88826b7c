"""``create_app(settings)``: routes and the start/stop order of the long-lived parts.

``cleanup_ctx`` pairs each part's start with its stop; aiohttp unwinds them in reverse, so a
clean stop closes the upstream pool first, then drains the writer (every pending record is
written, within what is left of the stop's deadline: ``stopping``), then flushes the OTLP
exporter (``otlp_export``, if asked for) to what is left of it, then disposes of the
database engine.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from wiretrace_proxy import api, health
from wiretrace_proxy.access import wiring as access
from wiretrace_proxy.appkeys import (
    ENGINE,
    OTLP_EXPORTER,
    PRICER,
    REPLICA,
    RETENTION,
    SETTINGS,
    SINK,
    STOPPING,
    UPSTREAM,
    WRITER,
    Upstream,
)
from wiretrace_proxy.errors import SchemaTooNew, StorageUnavailable
from wiretrace_proxy.forward import handler as forward
from wiretrace_proxy.forward import target
from wiretrace_proxy.forward.refusals import REFUSALS, ParserRefusals
from wiretrace_proxy.key_salt import load_key_salt
from wiretrace_proxy.otlp_export.service import otlp_export
from wiretrace_proxy.record.pricing import Pricer
from wiretrace_proxy.record.recorder import Recorder
from wiretrace_proxy.record.usage import TOKENIZERS
from wiretrace_proxy.replica import Replica, default_replica_name
from wiretrace_proxy.retention import Retention
from wiretrace_proxy.settings import Settings
from wiretrace_proxy.stopping import Stopping
from wiretrace_proxy.storage.engine import (
    check_database,
    create_engine_for,
    describe_error,
    reopen_if_replaced,
    safe_url,
)
from wiretrace_proxy.storage.migrate import upgrade_to_head
from wiretrace_proxy.storage.spool import Spool
from wiretrace_proxy.ui import add_ui_routes
from wiretrace_proxy.writer import Writer

log = logging.getLogger(__name__)

CLIENT_MAX_SIZE = 1024**4
"""aiohttp's 1 MiB default would reject big requests; the proxy streams what it does not read."""


def create_app(settings: Settings) -> web.Application:
    refusals = ParserRefusals()  # aiohttp logs requests its parser refuses through this
    stopping = Stopping()
    app = web.Application(
        client_max_size=CLIENT_MAX_SIZE,
        # Request bodies are forwarded as the app sent them: aiohttp would inflate a gzip
        # body and forward it inflated under the app's Content-Encoding and Content-Length.
        handler_args={"logger": refusals.logger, "auto_decompress": False},
        middlewares=[stopping.track],
    )
    app[SETTINGS] = settings
    app[REFUSALS] = refusals
    app[STOPPING] = stopping
    access.install(app, settings)  # the checks run before every handler; /signin routes
    app.cleanup_ctx.append(_storage)
    app.cleanup_ctx.append(otlp_export)  # stopped after the writer: its last records go out
    app.cleanup_ctx.append(_writer)
    app.cleanup_ctx.append(_retention)
    app.cleanup_ctx.append(_upstream)
    for route in target.ROUTES:  # /api/v1/... before the JSON API's routes
        app.router.add_route("*", route, forward.handle)
    if settings.intercept_port is not None:
        from wiretrace_proxy.intercept.service import add_intercept

        add_intercept(app)  # /intercept/... and its state (the child starts in server.run)
    app.router.add_get("/healthz", health.handle)
    api.add_routes(app.router)
    add_ui_routes(app.router)
    return app


async def _storage(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]

    def open_database() -> tuple[Engine, str | None]:
        engine = create_engine_for(settings.database_url)
        check_database(engine)
        try:
            revision = upgrade_to_head(engine)  # replicas starting together: one migrates
        except SQLAlchemyError as exc:  # e.g. no right to create tables: one line, exit 1
            engine.dispose()
            raise StorageUnavailable(
                f"cannot migrate database {safe_url(engine)}: {describe_error(exc)}"
            ) from exc
        except SchemaTooNew:  # this code is older than the database: one line, exit 1
            engine.dispose()
            raise
        return engine, revision

    app[ENGINE], revision = await asyncio.to_thread(open_database)
    app[REPLICA] = Replica(settings.replica_name or default_replica_name(), revision)
    yield
    await asyncio.to_thread(app[ENGINE].dispose)


async def _writer(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    salt = await asyncio.to_thread(load_key_salt, settings, app[ENGINE])
    # Tokenizers load on the first estimate that needs one (in the background): most calls
    # carry upstream usage, and an encoding costs tens of MiB of memory.
    # Loading the price database takes a moment: off the loop, once per server.
    pricer = await asyncio.to_thread(Pricer.from_settings, settings)
    app[PRICER] = pricer
    recorder = Recorder(settings, salt, TOKENIZERS, pricer)
    spool = await asyncio.to_thread(open_spool, settings)
    engine = app[ENGINE]
    writer = Writer(
        engine,
        recorder,
        max_pending=settings.max_pending,
        batch_size=settings.batch_size,
        flush_interval=settings.flush_interval,
        spool=spool,
        before_write=functools.partial(reopen_if_replaced, engine),
        on_stored=exporter.offer if (exporter := app.get(OTLP_EXPORTER)) else None,
    )
    writer.start()
    app[WRITER] = writer
    app[SINK] = writer
    yield
    stopping = app[STOPPING]  # what is left of the stop's deadline; else the whole budget
    timeout = stopping.time_left(settings.drain_timeout)
    stopping.writer_finished = await asyncio.to_thread(writer.stop, timeout)  # logs a miss
    if spool is not None and stopping.writer_finished:
        spool.close()  # the writer synced it; a writer still running keeps using it


async def _retention(app: web.Application) -> AsyncIterator[None]:
    """The background purge of calls older than ``--retention-days`` (none when unset)."""
    days = app[SETTINGS].retention_days
    retention = Retention(app[ENGINE], days) if days else None
    app[RETENTION] = retention
    if retention is None:
        yield
        return
    retention.start()
    yield
    if not await asyncio.to_thread(retention.stop, RETENTION_STOP_S):
        log.info("retention: stopping with a batch in hand (it commits or rolls back whole)")


RETENTION_STOP_S = 0.5
"""How long a stop waits for the purge's batch in hand, out of the writer's drain time: a
batch is one transaction, so one cut short by the exit is rolled back and loses nothing."""


def open_spool(settings: Settings) -> Spool | None:
    """The on-disk spool for records the database refuses; None (logged) if it cannot be
    opened: recording then works as before, and an outage loses what it refuses."""
    directory = settings.spool_path
    if directory is None:
        return None
    try:
        spool = Spool.open(directory, settings.spool_max_bytes)
    except OSError as exc:
        log.warning(
            "spool: cannot open %s (%s): records the database refuses will be lost", directory, exc
        )
        return None
    if spool.pending:
        log.warning(
            "spool: %d records from an earlier run wait in %s; replaying them",
            spool.pending,
            directory,
        )
    return spool


async def _upstream(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, enable_cleanup_closed=True)
    session = aiohttp.ClientSession(
        connector=connector,
        auto_decompress=False,
        timeout=aiohttp.ClientTimeout(
            total=None, connect=settings.connect_timeout, sock_read=settings.read_timeout
        ),
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
    )
    app[UPSTREAM] = Upstream(session=session, base_url=settings.upstream_base)
    yield
    await session.close()
