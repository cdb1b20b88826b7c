"""``GET /healthz``: is recording keeping up? Queue depth, losses and storage errors.

The proxy fails open, so a storage fault never shows to apps; this is where it shows.
Status is ``ok``, or ``degraded`` once any record was lost or storage failed recently.

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


class Health(schemas.Health):
    """``/healthz``'s body: the writer's counters and the parser refusals."""

    parser_refusals: int
    """Requests aiohttp's HTTP parser refused (answered 400 by aiohttp, never recorded)."""


async def handle(request: web.Request) -> web.Response:
    stats = request.app[WRITER].stats()
    degraded = stats.lost > 0 or stats.dropped > 0 or stats.storage_errors > 0
    body = {
        "status": "degraded" if degraded else "ok",
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
