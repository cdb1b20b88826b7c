"""``GET /healthz``: is recording keeping up? Queue depth, losses and storage errors.

The proxy fails open, so a storage fault never shows to apps; this is where it shows.
Status is ``degraded`` while records are not reaching storage, and ``ok`` again once they
are: storage refused the latest write, the spool holds records waiting for the database, or
the oldest record not yet handled has waited more than ``BACKLOG_LIMIT_S`` (a writer that
does not keep up, or a database stuck on a lock). ``reasons`` says which. Losses are
counters since the start (``lost``, ``dropped``): they do not keep the status degraded once
recording works again.

``parser_refusals`` counts requests aiohttp's HTTP parser refused before any handler saw
them (oversized or too many headers, control characters): they have no record, so this is
where they show. They are the clients' faults, so they do not make the status degraded.
"""

from __future__ import annotations

from dataclasses import asdict

from aiohttp import web

from wiretrace_proxy.api import schemas
from wiretrace_proxy.api.openapi import operation
from wiretrace_proxy.appkeys import WRITER
from wiretrace_proxy.callrecord import JSONObject
from wiretrace_proxy.forward.refusals import REFUSALS
from wiretrace_proxy.writer import WriterStats


class Health(schemas.Health):
    """``/healthz``'s body: the writer's counters and the parser refusals."""

    parser_refusals: int
    """Requests aiohttp's HTTP parser refused (answered 400 by aiohttp, never recorded)."""


BACKLOG_LIMIT_S = 3.0
"""A record waiting longer than this to be handled means recording is not keeping up."""


def degraded_reasons(stats: WriterStats) -> list[str]:
    """Why records are not reaching storage now; empty when they are."""
    reasons: list[str] = []
    if stats.storage_down:
        reasons.append(f"storage is refusing writes ({stats.last_error or 'unknown error'})")
    if stats.spool_pending:
        reasons.append(f"{stats.spool_pending} records spooled on disk, waiting for storage")
    if stats.oldest_pending_s > BACKLOG_LIMIT_S:
        reasons.append(
            f"{stats.pending} records pending, the oldest for {stats.oldest_pending_s:.1f} s"
        )
    return reasons


async def handle(request: web.Request) -> web.Response:
    stats = request.app[WRITER].stats()
    reasons = degraded_reasons(stats)
    body = {
        "status": "degraded" if reasons else "ok",
        "reasons": reasons,
        **asdict(stats),
        "parser_refusals": request.app[REFUSALS].count,
    }
    return web.json_response(body)


OPENAPI_PATHS: dict[str, dict[str, JSONObject]] = {
    "/healthz": {
        "get": operation(
            "Is recording keeping up: queue depth, losses, storage errors",
            ok=schemas.ref(Health),
            errors=(),
        )
    }
}

OPENAPI_SCHEMAS: dict[str, JSONObject] = {"Health": schemas.component_schemas((Health,))["Health"]}
"""The ``Health`` component as this module serves it (it adds ``parser_refusals``)."""
