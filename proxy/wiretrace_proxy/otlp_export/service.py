"""The exporter as the server runs it: built from ``Settings``, started before the writer
and stopped after it (``cleanup_ctx`` order in ``app.py``), so the writer's last records
are still exported, within what is left of the stop's deadline (``stopping``). It reads
the stored version of the proxied calls it held back for a fold from the server's
database (``stored``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy.engine import Engine

from wiretrace_proxy.appkeys import ENGINE, OTLP_EXPORTER, SETTINGS, STOPPING
from wiretrace_proxy.otlp_export.endpoint import traces_url
from wiretrace_proxy.otlp_export.genai import provider_name
from wiretrace_proxy.otlp_export.stored import stored_records
from wiretrace_proxy.providers import HostTable
from wiretrace_proxy.settings import Settings

if TYPE_CHECKING:
    from wiretrace_proxy.otlp_export.exporter import OtlpExporter

__all__ = ["build_exporter", "otlp_export", "upstream_provider"]

log = logging.getLogger(__name__)


def upstream_provider(upstream: str) -> str:
    """``gen_ai.provider.name`` of calls forwarded to ``upstream`` (when a record does not
    name its own provider)."""
    host = urlsplit(upstream).hostname or ""
    return provider_name(HostTable.build().provider_for(host))


def build_exporter(settings: Settings, engine: Engine | None = None) -> OtlpExporter | None:
    """The exporter ``settings`` ask for (not started), or None when export is off; with
    ``engine``, proxied LLM calls are held back for a fold and exported as stored."""
    if not settings.otlp_export:
        return None
    # Here, not at the top: they load protobuf, which a server that exports nothing lacks.
    from wiretrace_proxy.otlp_export.encode import EncodeOptions
    from wiretrace_proxy.otlp_export.exporter import OtlpExporter
    from wiretrace_proxy.otlp_export.sender import Sender

    upstream = urlsplit(settings.upstream)
    options = EncodeOptions(
        provider=upstream_provider(settings.upstream),
        server_address=upstream.hostname,
        server_port=upstream.port or (443 if upstream.scheme == "https" else 80),
        openinference=settings.otlp_export_openinference,
    )
    url = traces_url(settings.otlp_export)  # the flag did this already; Settings(...) not
    interrupt = threading.Event()
    sender = Sender(
        url,
        settings.otlp_export_headers or (),
        gzip_body=settings.otlp_export_gzip,
        interrupt=interrupt,
    )
    current = functools.partial(stored_records, engine) if engine is not None else None
    return OtlpExporter(
        sender,
        url,
        options,
        interrupt=interrupt,
        current=current,
        merge_window=settings.otlp_export_hold,
    )


async def otlp_export(app: web.Application) -> AsyncIterator[None]:
    """``cleanup_ctx``: start the exporter (if asked for); on stop, flush it to the deadline."""
    settings = app[SETTINGS]
    exporter = build_exporter(settings, app.get(ENGINE))
    if exporter is None:
        yield
        return
    exporter.start()
    log.info("otlp: exporting every call and span to %s", exporter.stats().url)
    app[OTLP_EXPORTER] = exporter
    yield
    timeout = app[STOPPING].time_left(settings.drain_timeout)
    await asyncio.to_thread(exporter.stop, timeout)
