"""The JSON API under ``/api/``: one module per resource, and the one ordered route list.

Order matters where paths overlap: ``/api/calls/export`` must be registered before
``/api/calls/{call_id}``, which would otherwise take ``export`` for an id. Every route here
is documented in ``/api/openapi.json`` (``api/openapi.py``), and a test fails for one that
is not.
"""

from __future__ import annotations

from aiohttp import web

from wiretrace_proxy.api import (
    calls,
    compare,
    export,
    feedback,
    openapi,
    ops,
    pricing,
    prompts,
    spans,
    stats,
    traces,
)

RESOURCES = (export, calls, feedback, openapi, spans, traces, ops, prompts, pricing, stats, compare)
"""Each resource module's ``add_routes``, in registration order (``export`` before ``calls``)."""


def add_routes(router: web.UrlDispatcher) -> None:
    """Register every ``/api/`` route."""
    for resource in RESOURCES:
        resource.add_routes(router)
