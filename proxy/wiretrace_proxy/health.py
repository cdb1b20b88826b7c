"""``GET /healthz``: is recording keeping up? Queue depth, losses and storage errors.

The proxy fails open, so a storage fault never shows to apps; this is where it shows.
Status is ``degraded`` while records are not reaching storage, and ``ok`` again once they
are: storage refused the latest write, the spool holds records waiting for the database, or
the oldest record not yet handled has waited more than ``BACKLOG_LIMIT_S`` (a writer that
does not keep up, or a database stuck on a lock). ``reasons`` says which. Losses are
counters since the start (``lost``, ``dropped``): they do not keep the status degraded once
recording works again.

``replica`` and ``schema_revision`` say which of several servers on one database answered
and the schema it runs on; ``retention`` is the last run of ``--retention-days``'s purge
(rows removed per table), null when it is off.

``parser_refusals`` counts requests aiohttp's HTTP parser refused before any handler saw
them (oversized or too many headers, control characters): they have no record, so this is
where they show. They are the clients' faults, so they do not make the status degraded.

With ``--auth-token`` set, a request that is not signed in (no bearer token, no session)
gets ``{"status": ...}`` alone: enough for a load balancer or a container health check,
nothing about the database or its errors.
"""

from __future__ import annotations

from dataclasses import asdict

from aiohttp import web

from wiretrace_proxy.access.auth import is_signed_in
from wiretrace_proxy.api import schemas
from wiretrace_proxy.api.openapi import operation
from wiretrace_proxy.appkeys import OTLP_EXPORTER, REPLICA, RETENTION, WRITER
from wiretrace_proxy.callrecord import JSONObject
from wiretrace_proxy.forward.refusals import REFUSALS
from wiretrace_proxy.retention import Retention
from wiretrace_proxy.writer import WriterStats


class OtlpExportHealth(schemas.Closed):
    """The OTLP exporter's counters (``otlp_export.exporter.ExportStats``)."""

    url: str
    """The traces URL spans are sent to."""
    queued: int
    """Spans waiting to be sent."""
    sent: int
    """Spans the backend accepted."""
    dropped: int
    """Spans not exported: queue full, refused by the backend, retries exhausted, or a
    stop's deadline passed."""
    retries: int
    """Export requests sent again (429, 502, 503, 504, connection failures)."""
    last_error: str | None
    """The latest failed export, one line."""


class PurgeCounts(schemas.Closed):
    """Rows a retention run removed, per table."""

    calls: int
    feedback: int
    call_rollups: int
    """Stats rollup cells left with no call."""


class RetentionRun(schemas.Closed):
    """The latest retention run (``--retention-days``)."""

    started_at: str
    before: str
    """Calls that started before this were removed."""
    seconds: float
    removed: PurgeCounts
    error: str | None
    """Why the run stopped early; it is tried again at the next interval."""


class RetentionHealth(schemas.Closed):
    days: int
    """Calls that started more than this many days ago are removed."""
    last_run: RetentionRun | None
    """None until the first run (at start) has finished."""


class Health(schemas.Health):
    """``/healthz``'s body: the writer's counters, the parser refusals and the exporter's."""

    replica: str
    """This server's name (``--replica-name``, default ``hostname:pid``)."""
    schema_revision: str | None
    """The database's schema revision this server runs on."""
    parser_refusals: int
    """Requests aiohttp's HTTP parser refused (answered 400 by aiohttp, never recorded)."""
    retention: RetentionHealth | None
    """None when ``--retention-days`` is unset (calls are kept)."""
    otlp_export: OtlpExportHealth | None
    """The OTLP exporter's counters; null when ``--otlp-export`` is not set. An export
    failing does not make the status degraded: the records are stored all the same."""


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
    if not is_signed_in(request):  # --auth-token set: the status only, nothing it names
        return web.json_response({"status": "degraded" if reasons else "ok"})
    replica = request.app[REPLICA]
    body = {
        "status": "degraded" if reasons else "ok",
        "reasons": reasons,
        "replica": replica.name,
        "schema_revision": replica.schema_revision,
        **asdict(stats),
        "parser_refusals": request.app[REFUSALS].count,
        "retention": _retention(request.app[RETENTION]),
        "otlp_export": _export_stats(request.app),
    }
    return web.json_response(body)


def _retention(retention: Retention | None) -> JSONObject | None:
    if retention is None:
        return None
    run = retention.last_run
    return {"days": retention.days, "last_run": None if run is None else run.to_api()}


def _export_stats(app: web.Application) -> JSONObject | None:
    exporter = app.get(OTLP_EXPORTER)
    return asdict(exporter.stats()) if exporter is not None else None


OPENAPI_PATHS: dict[str, dict[str, JSONObject]] = {
    "/healthz": {
        "get": operation(
            "Is recording keeping up: queue depth, losses, storage errors",
            ok={"anyOf": [schemas.ref(Health), {"$ref": "#/components/schemas/HealthSummary"}]},
            description="With --auth-token set, a request that is not signed in gets the "
            "status alone (HealthSummary): the counters and reasons name the database and "
            "its errors.",
            errors=(),
        )
    }
}

HEALTH_SUMMARY: JSONObject = {
    "type": "object",
    "description": "The status alone, for a request that is not signed in.",
    "properties": {"status": {"type": "string", "enum": ["ok", "degraded"]}},
    "required": ["status"],
    "additionalProperties": False,
}

OPENAPI_SCHEMAS: dict[str, JSONObject] = {
    "Health": schemas.component_schemas((Health,))["Health"],
    "OtlpExportHealth": schemas.component_schemas((Health,))["OtlpExportHealth"],
    "HealthSummary": HEALTH_SUMMARY,
    **{
        name: schemas.component_schemas((Health,))[name]
        for name in ("PurgeCounts", "RetentionHealth", "RetentionRun")
    },
}
"""The ``Health`` component as this module serves it (it adds ``parser_refusals``), and the
summary a request that is not signed in gets."""
