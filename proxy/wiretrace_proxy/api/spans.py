"""``POST /api/spans``: SDK spans in, stored before the answer (idempotent by span id).

Unlike proxied calls this waits for the database (on a worker thread): the SDK retries a
batch that was not acknowledged, so a 2xx must mean stored. A database fault answers 503
and the SDK's retry keeps the spans; a malformed event answers 400 naming the field.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from wiretrace_proxy.api import schemas
from wiretrace_proxy.api.errors import BadParameter, bad_request
from wiretrace_proxy.api.openapi import operation
from wiretrace_proxy.appkeys import ENGINE, SETTINGS
from wiretrace_proxy.callrecord import CallRecord, JSONObject
from wiretrace_proxy.record.spans import SpanBatch, SpanError, parse_spans
from wiretrace_proxy.storage import versions, writes

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024 * 1024


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/api/spans", ingest)


async def ingest(request: web.Request) -> web.Response:
    if request.content_length is not None and request.content_length > MAX_BODY:
        return bad_request(BadParameter("body", f"body larger than {MAX_BODY} bytes"))
    raw = await request.read()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return bad_request(BadParameter("body", f"body is not valid JSON: {exc}"))
    try:
        batch = parse_spans(body, request.app[SETTINGS].project, datetime.now(UTC))
    except SpanError as exc:
        return bad_request(BadParameter(exc.param, str(exc)))
    engine = request.app[ENGINE]

    def store() -> None:
        with engine.begin() as conn:
            _store(conn, batch)

    try:
        await asyncio.to_thread(store)
    except (sa_exc.SQLAlchemyError, OSError) as exc:
        log.warning("storage: %d spans not stored (the SDK retries): %s", len(batch.records), exc)
        message = "storage unavailable, retry later"
        return web.json_response({"error": {"message": message, "param": None}}, status=503)
    return web.json_response({"accepted": len(batch.records)})


def _store(conn: Connection, batch: SpanBatch) -> None:
    versions.save_op_versions(conn, batch.op_versions)
    versions.save_model_versions(conn, batch.model_versions)
    writes.upsert_records(conn, _last_per_id(batch))


def _last_per_id(batch: SpanBatch) -> list[CallRecord]:
    """One row per id per statement: a start and an end in the same batch are merged in
    the order they were sent (a final status is never replaced by ``running``)."""
    merged: dict[str, CallRecord] = {}
    for record in batch.records:
        previous = merged.get(record.id)
        if previous is None:
            merged[record.id] = record
        elif record.status == "running":
            continue  # the start arrived after the end: keep the end
        else:
            merged[record.id] = record
    return list(merged.values())


OPENAPI_PATHS: dict[str, dict[str, JSONObject]] = {
    "/api/spans": {
        "post": operation(
            "Ingest SDK span events (idempotent by span id); 2xx means stored",
            ok=schemas.ref(schemas.SpansAccepted),
            errors=(400, 503),
            body=schemas.ref(schemas.SpanBatch),
        )
    }
}
