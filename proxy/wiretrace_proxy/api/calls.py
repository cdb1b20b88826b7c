"""``GET /api/calls`` and ``GET /api/calls/{id}``: read recorded calls.

``/api/calls`` lists newest first, filtered by exact values, with keyset pagination: the
``next_cursor`` names the last row seen, so pages never repeat or skip rows while new calls
are being written. Queries run on a worker thread so the proxy's loop never waits on them.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from datetime import datetime

from aiohttp import web

from wiretrace_proxy.appkeys import ENGINE
from wiretrace_proxy.record import CallRecord
from wiretrace_proxy.storage import queries

from .errors import BadParameter, bad_request, not_found

STATUSES = ("ok", "error", "cancelled", "running")
FILTERS = ("project", "op_name", "model", "status", "trace_id")
MAX_LIMIT = 1000


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/api/calls", list_calls)
    router.add_get("/api/calls/{call_id}", get_call)


async def list_calls(request: web.Request) -> web.Response:
    try:
        filters, limit, before = _parse(request)
    except BadParameter as exc:
        return bad_request(exc)
    engine = request.app[ENGINE]

    def run() -> list[CallRecord]:
        with engine.connect() as conn:
            return queries.list_calls(conn, limit=limit + 1, before=before, **filters)

    records = await asyncio.to_thread(run)
    page = records[:limit]
    cursor = _encode_cursor(page[-1].started_at, page[-1].id) if len(records) > limit else None
    return web.json_response({"calls": [r.to_api() for r in page], "next_cursor": cursor})


async def get_call(request: web.Request) -> web.Response:
    call_id = request.match_info["call_id"]
    engine = request.app[ENGINE]

    def run() -> CallRecord | None:
        with engine.connect() as conn:
            return queries.get_call(conn, call_id)

    record = await asyncio.to_thread(run)
    if record is None:
        return not_found(f"no call with id {call_id!r}")
    return web.json_response(record.to_api())


def _parse(request: web.Request) -> tuple[dict[str, str], int, tuple[datetime, str] | None]:
    query = request.query
    unknown = sorted(set(query) - {*FILTERS, "limit", "cursor"})
    if unknown:
        allowed = ", ".join((*FILTERS, "limit", "cursor"))
        raise BadParameter(unknown[0], f"unknown parameter {unknown[0]!r}; allowed: {allowed}")
    filters = {name: query[name] for name in FILTERS if query.get(name)}
    if "status" in filters and filters["status"] not in STATUSES:
        raise BadParameter("status", f"status must be one of {', '.join(STATUSES)}")
    limit = _limit(query.get("limit", "50"))
    cursor = query.get("cursor")
    return filters, limit, _decode_cursor(cursor) if cursor else None


def _limit(value: str) -> int:
    try:
        limit = int(value)
    except ValueError:
        raise BadParameter("limit", f"limit must be a whole number, got {value!r}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise BadParameter("limit", f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    return limit


def _encode_cursor(started_at: datetime, call_id: str) -> str:
    raw = json.dumps([started_at.isoformat(), call_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(value: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        started, call_id = json.loads(raw)
        return datetime.fromisoformat(started), str(call_id)
    except (ValueError, TypeError, binascii.Error):
        raise BadParameter("cursor", "cursor is not one this API returned") from None
