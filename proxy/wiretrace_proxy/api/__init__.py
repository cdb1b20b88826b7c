"""The JSON API under ``/api/``: one module per resource, and the one ordered route list.

Order matters where paths overlap: ``/api/calls/export`` must be registered before
``/api/calls/{call_id}``, which would otherwise take ``export`` for an id. Every route here
is documented in ``/api/openapi.json`` (``api/openapi.py``), and a test fails for one that
is not. The resource modules are imported when routes are added, not with the package, so
``python -m wiretrace_proxy.api.openapi`` runs its module once.
"""

from __future__ import annotations

from aiohttp import web


def add_routes(router: web.UrlDispatcher) -> None:
    """Register every ``/api/`` route, in order (``export`` before ``calls``)."""
    from wiretrace_proxy.api import (
        calls,
        compare,
        datasets,
        eval_compare,
        eval_runs,
        export,
        feedback,
        openapi,
        ops,
        otlp,
        pricing,
        prompts,
        spans,
        stats,
        traces,
    )

    resources = (export, calls, feedback, openapi, spans, traces, ops, prompts, pricing, stats)
    evaluations = (datasets, eval_runs, eval_compare)
    for resource in (*resources, compare, *evaluations, otlp):
        resource.add_routes(router)
