"""``POST /api/spans``: SDK spans in, stored before the answer (idempotent by span id).

Unlike proxied calls this waits for the database (on a worker thread): the SDK retries a
batch that was not acknowledged, so a 2xx must mean stored. A database fault answers 503
and the SDK's retry keeps the spans; a malformed event answers 400 naming the field; a body
over ``MAX_BODY`` bytes (counted as it is read, chunked or not) answers 413.

A span merges only into its own row (its start and end, in either order): an id that
already names a proxied call, or a span of another project or trace, is refused, and that
row is left as it is. The batch's other spans are stored, and the answer is 409 naming the
refused ids (``SpansRefused``). Why not refuse the whole batch: the SDK drops a batch
answered 4xx without retrying it, so one colliding id would lose the honest spans sent
with it; and the upsert is idempotent, so sending the batch again changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from wiretrace_proxy import jsonsafe
from wiretrace_proxy.api import schemas
from wiretrace_proxy.api.errors import BadParameter, bad_request
from wiretrace_proxy.api.jsonio import BodyTooLarge, json_response, read_body
from wiretrace_proxy.api.openapi import operation
from wiretrace_proxy.appkeys import ENGINE, OTLP_EXPORTER, SETTINGS
from wiretrace_proxy.callrecord import CallRecord, JSONObject
from wiretrace_proxy.record.spans import SpanBatch, SpanError, parse_spans
from wiretrace_proxy.storage import versions, writes

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024 * 1024


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/api/spans", ingest)


async def ingest(request: web.Request) -> web.Response:
    try:
        raw = await read_body(request, MAX_BODY)
    except BodyTooLarge as exc:
        return exc.response()
    project = request.app[SETTINGS].project
    try:  # parsing a large batch is CPU work: off the event loop
        batch = await asyncio.to_thread(_parse, raw, project, datetime.now(UTC))
    except BadParameter as exc:
        return bad_request(exc)
    engine = request.app[ENGINE]
    exporter = request.app.get(OTLP_EXPORTER)

    def store() -> _Stored:
        with engine.begin() as conn:
            stored = _store(conn, batch)
        if exporter is not None:  # committed: ended spans go to the OTLP export queue
            exporter.offer(stored.kept)
        return stored

    try:
        stored = await asyncio.to_thread(store)
    except (sa_exc.SQLAlchemyError, OSError) as exc:
        log.warning("storage: %d spans not stored (the SDK retries): %s", len(batch.records), exc)
        message = "storage unavailable, retry later"
        return json_response({"error": {"message": message, "param": None}}, status=503)
    if stored.refused:
        return _conflict(batch, stored)
    return json_response({"accepted": stored.accepted})


def _parse(raw: bytes, project: str, now: datetime) -> SpanBatch:
    """The body as spans; ``BadParameter`` naming the field of the first problem."""
    try:
        body = json.loads(raw)
    except RecursionError:
        raise BadParameter("body", "body is nested too deep to read") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadParameter("body", f"body is not valid JSON: {exc}") from None
    try:
        return parse_spans(body, project, now)
    except SpanError as exc:
        raise BadParameter(exc.param, str(exc)) from None


@dataclass(frozen=True, slots=True)
class _Stored:
    accepted: int
    refused: list[str]
    kept: list[CallRecord]


def _store(conn: Connection, batch: SpanBatch) -> _Stored:
    records = _last_per_id(batch)
    refused = writes.upsert_records(conn, records)
    kept = [r for r in records if r.id not in set(refused)]
    ops = {(r.project, r.op_name, r.op_version) for r in kept if r.op_version}
    models = {(r.project, r.model_version) for r in kept if r.model_version}
    # Versions only of the spans stored: a refused span leaves no trace.
    versions.save_op_versions(
        conn, [v for v in batch.op_versions if (v.project, v.op_name, v.digest) in ops]
    )
    versions.save_model_versions(
        conn, [v for v in batch.model_versions if (v.project, v.digest) in models]
    )
    return _Stored(accepted=len(kept), refused=refused, kept=kept)


def _conflict(batch: SpanBatch, stored: _Stored) -> web.Response:
    first = next(i for i, r in enumerate(batch.records) if r.id == stored.refused[0])
    shown = ", ".join(stored.refused[:20]) + (", ..." if len(stored.refused) > 20 else "")
    message = (
        f"{len(stored.refused)} span(s) refused: id {shown} already names a record that is "
        "not this span (a proxied call, or a span of another project or trace), which a "
        f"span cannot change; the other {stored.accepted} span(s) were stored"
    )
    body = {
        "error": {"message": message, "param": f"spans[{first}].id"},
        "accepted": stored.accepted,
        "refused": stored.refused,
    }
    return json_response(body, status=409)


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


class SpansRefused(schemas.Closed):
    """409 from ``POST /api/spans``: the spans whose id names another record."""

    error: schemas.ErrorDetail
    """``param`` names the first refused span's id, e.g. ``spans[3].id``."""
    accepted: int
    """Spans of the batch that were stored."""
    refused: list[str]
    """The ids refused, in batch order; those records were not changed."""


_INGEST = operation(
    "Ingest SDK span events (idempotent by span id); 2xx means stored",
    ok=schemas.ref(schemas.SpansAccepted),
    errors=(400, 413, 503),
    body=schemas.ref(schemas.SpanBatch),
    description=(
        "Each span arrives twice, at its start (`status: running`) and its end, in either "
        "order; the two merge into one record. A span merges only into its own record: an "
        "id that already names a proxied call, or a span of another project or trace, is "
        "refused and that record is left unchanged. The batch's other spans are stored "
        "and the answer is 409 with `refused` (the ids) and `accepted`; sending the batch "
        "again changes nothing. Span `inputs`, `output`, `attributes` and `error` are "
        "stored with secrets masked; a non-finite number in them (NaN, Infinity) is "
        'stored as the string `"NaN"`, `"Infinity"` or `"-Infinity"` and '
        "`attributes.nonfinite` lists the fields that had one. A value nested deeper than "
        f"{jsonsafe.MAX_DEPTH} levels or a string with a lone surrogate is a 400 naming the "
        f"field; a body over {MAX_BODY} bytes (however it is sent) is a 413."
    ),
)
_responses = _INGEST["responses"]
assert isinstance(_responses, dict)
_responses["409"] = {
    "description": "Spans whose id names another record were refused; the rest were stored.",
    "content": {"application/json": {"schema": schemas.ref(SpansRefused)}},
}

OPENAPI_PATHS: dict[str, dict[str, JSONObject]] = {"/api/spans": {"post": _INGEST}}
OPENAPI_SCHEMAS: dict[str, JSONObject] = schemas.component_schemas((SpansRefused,))
