"""Typed application state: every shared object lives behind one ``web.AppKey``.

The request path (``forward/``) reads ``SETTINGS``, ``UPSTREAM`` and ``SINK`` from here, so
this module imports nothing of storage or the writer at run time: the engine's and the
writer's types are for the type checker only. ``SINK`` is the writer as the request path
sees it (one non-blocking ``submit``); ``WRITER`` is the same object with its counters, for
``/healthz`` and the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import aiohttp
from aiohttp import web

from wiretrace_proxy.forward.capture import Capture
from wiretrace_proxy.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from wiretrace_proxy.otlp_export.exporter import OtlpExporter
    from wiretrace_proxy.record.pricing import Pricer
    from wiretrace_proxy.replica import Replica
    from wiretrace_proxy.retention import Retention
    from wiretrace_proxy.stopping import Stopping
    from wiretrace_proxy.writer import Writer


class RecordSink(Protocol):
    """Where finished captures go (the writer). ``submit`` must not block or await."""

    def submit(self, capture: Capture) -> None: ...


@dataclass(slots=True)
class Upstream:
    """The shared keep-alive connection pool to the upstream, and its base URL."""

    session: aiohttp.ClientSession
    base_url: str


SETTINGS = web.AppKey("settings", Settings)
UPSTREAM = web.AppKey("upstream", Upstream)
SINK = web.AppKey("sink", RecordSink)
ENGINE: web.AppKey[Engine] = web.AppKey("engine")
WRITER: web.AppKey[Writer] = web.AppKey("writer")
STOPPING: web.AppKey[Stopping] = web.AppKey("stopping")
"""Requests in flight and the stop's deadline (``stopping``)."""
REPLICA: web.AppKey[Replica] = web.AppKey("replica")
"""This server's name and the schema revision it runs on (``/healthz``)."""
RETENTION: web.AppKey[Retention | None] = web.AppKey("retention")
"""The background purge of old calls, None when ``--retention-days`` is unset."""
OTLP_EXPORTER: web.AppKey[OtlpExporter] = web.AppKey("otlp_exporter")
"""The OTLP exporter, set only when ``--otlp-export`` is (``otlp_export.service``)."""
PRICER: web.AppKey[Pricer] = web.AppKey("pricer")
"""The recorder's pricer, shared with OTLP ingest so an ingested LLM span is priced alike."""
