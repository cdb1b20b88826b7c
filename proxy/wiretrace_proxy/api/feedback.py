"""``POST`` and ``GET /api/calls/{id}/feedback``: thumbs, named scores and notes on a call.

A call id is known to the app (``Wiretrace-Call-Id``) before its record is written: the
writer batches off the request path. So feedback for an id not yet in the database first
waits for the writer to flush what it holds (a few milliseconds), and only then answers
404; feedback sent right after the call it judges is not refused.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from wiretrace_proxy.api import schemas
from wiretrace_proxy.api.errors import BadParameter, bad_request, not_found
from wiretrace_proxy.api.jsonio import BodyTooLarge, json_response, read_body
from wiretrace_proxy.api.openapi import operation, path_param
from wiretrace_proxy.api.reads import read
from wiretrace_proxy.api.schemas import FeedbackIn
from wiretrace_proxy.appkeys import ENGINE, WRITER
from wiretrace_proxy.callrecord import JSONObject
from wiretrace_proxy.storage import feedback
from wiretrace_proxy.storage.feedback import FeedbackEntry
from wiretrace_proxy.tracecontext import new_span_id

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
FLUSH_WAIT_S = 2.0
"""How long an unknown call id waits for the writer before the answer is 404."""


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/api/calls/{call_id}/feedback", add_feedback)
    router.add_get("/api/calls/{call_id}/feedback", list_feedback)


async def add_feedback(request: web.Request) -> web.Response:
    call_id = request.match_info["call_id"]
    try:
        given = FeedbackIn.model_validate(await _read_json(request))
        _refuse_unstorable(given)
    except BodyTooLarge as exc:
        return exc.response()
    except BadParameter as exc:
        return bad_request(exc)
    except ValidationError as exc:
        return bad_request(_explain(exc))
    if not await _call_known(request, call_id):
        return not_found(f"no call with id {call_id!r}")
    entry = FeedbackEntry(
        id=new_span_id(),
        call_id=call_id,
        thumbs=given.thumbs,
        name=given.name,
        score=float(given.score) if given.score is not None else None,
        note=given.note,
        author=given.author,
        created_at=datetime.now(UTC),
    )
    engine = request.app[ENGINE]

    def store() -> None:
        with engine.begin() as conn:
            feedback.add_feedback(conn, entry)

    try:
        await asyncio.to_thread(store)
    except (sa_exc.SQLAlchemyError, OSError) as exc:
        log.warning("storage: feedback for %s not stored: %s", call_id, exc)
        body = {"error": {"message": "storage unavailable, retry later", "param": None}}
        return json_response(body, status=503)
    return json_response(entry.to_api(), status=201)


async def list_feedback(request: web.Request) -> web.Response:
    call_id = request.match_info["call_id"]
    engine = request.app[ENGINE]

    def run(conn: Connection) -> list[FeedbackEntry] | None:
        if not feedback.call_exists(conn, call_id):
            return None
        return feedback.list_feedback(conn, call_id)

    entries = await read(engine, run)
    if entries is None:
        return not_found(f"no call with id {call_id!r}")
    return json_response({"feedback": [e.to_api() for e in entries]})


async def _read_json(request: web.Request) -> object:
    """The body as a JSON object (``jsonio.read_body`` caps the bytes read: 413)."""
    raw = await read_body(request, MAX_BODY)
    try:
        body = json.loads(raw)
    except RecursionError:
        raise BadParameter("body", "body is nested too deep to read") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadParameter("body", f"body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadParameter("body", 'body must be a JSON object like {"thumbs": "up"}')
    return body


def _refuse_unstorable(given: FeedbackIn) -> None:
    """Text with a lone surrogate (``"\\ud800"`` in the JSON) cannot be stored as text: a
    400 naming the field rather than a 500 from the database."""
    for name in ("name", "note", "author"):
        value = getattr(given, name)
        if isinstance(value, str) and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise BadParameter(
                    name, f"{name} holds a lone surrogate, which is not text"
                ) from None


def _explain(exc: ValidationError) -> BadParameter:
    """The first problem, naming the field (``body`` for the object as a whole)."""
    error = exc.errors(include_url=False)[0]
    field = next((str(part) for part in error["loc"] if isinstance(part, str)), "body")
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        allowed = ", ".join(FeedbackIn.model_fields)
        message = f"unknown field {field!r}; allowed: {allowed}"
    elif field != "body":
        message = f"{field}: {message}"
    return BadParameter(field, message)


async def _call_known(request: web.Request, call_id: str) -> bool:
    engine, writer = request.app[ENGINE], request.app[WRITER]

    def check() -> bool:
        with engine.connect() as conn:
            if feedback.call_exists(conn, call_id):
                return True
        if not writer.flush(FLUSH_WAIT_S):
            return False
        with engine.connect() as conn:
            return feedback.call_exists(conn, call_id)

    return await asyncio.to_thread(check)


_CALL_ID = path_param("call_id", "the call's id (Wiretrace-Call-Id)")

OPENAPI_PATHS: dict[str, dict[str, JSONObject]] = {
    "/api/calls/{call_id}/feedback": {
        "post": operation(
            "Add feedback to a call: thumbs, a named score, a note, who gave it",
            ok=schemas.ref(schemas.Feedback),
            status=201,
            errors=(400, 404, 413, 503),
            parameters=[_CALL_ID],
            body=schemas.ref(schemas.FeedbackIn),
        ),
        "get": operation(
            "A call's feedback, oldest first",
            ok=schemas.ref(schemas.FeedbackList),
            errors=(404,),
            parameters=[_CALL_ID],
        ),
    }
}
