"""``GET /healthz``: is recording keeping up? Queue depth, losses and storage errors.

The proxy fails open, so a storage fault never shows to apps; this is where it shows.
Status is ``ok``, or ``degraded`` once any record was lost or storage failed recently.
"""

from __future__ import annotations

from dataclasses import asdict

from aiohttp import web

from wiretrace_proxy.api import schemas
from wiretrace_proxy.api.openapi import operation
from wiretrace_proxy.appkeys import WRITER
from wiretrace_proxy.callrecord import JSONObject


async def handle(request: web.Request) -> web.Response:
    stats = request.app[WRITER].stats()
    degraded = stats.lost > 0 or stats.dropped > 0 or stats.storage_errors > 0
    body = {"status": "degraded" if degraded else "ok", **asdict(stats)}
    return web.json_response(body)


OPENAPI_PATHS: dict[str, dict[str, JSONObject]] = {
    "/healthz": {
        "get": operation(
            "Is recording keeping up: queue depth, losses, storage errors",
            ok=schemas.ref(schemas.Health),
            errors=(),
        )
    }
}
