"""``GET /api/calls`` and ``GET /api/calls/{id}``: find recorded calls and read one.

The listing takes every filter of ``storage/filters.py``, a ``sort`` over any of the
numeric columns, and a keyset ``cursor`` (``storage/listing.py`` says why keyset and how
NULLs are placed). Each listed call carries a compact feedback summary, fetched for the
whole page in one query; ``/api/calls/{id}`` carries the full feedback list. Queries run on
a worker thread so the proxy's loop never waits on the database.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.engine import Connection

from wiretrace_proxy.api import schemas
from wiretrace_proxy.api.errors import BadParameter, bad_request, not_found
from wiretrace_proxy.api.jsonio import dumps
from wiretrace_proxy.api.openapi import (
    FILTER_DESCRIPTION,
    FILTER_PARAMETERS,
    operation,
    path_param,
    query,
)
from wiretrace_proxy.api.reads import read
from wiretrace_proxy.appkeys import ENGINE
from wiretrace_proxy.callrecord import JSON, CallRecord, JSONObject
from wiretrace_proxy.storage import calls as stored
from wiretrace_proxy.storage import feedback, listing
from wiretrace_proxy.storage.filters import FilterError, parse_filters
from wiretrace_proxy.storage.listing import Cursor, Page, Sort, parse_limit

LIST_PARAMS = ("sort", "cursor", "limit")


def add_routes(router: web.UrlDispatcher) -> None:
    """Register after ``export.add_routes``: ``/api/calls/{call_id}`` would take ``export``
    for an id."""
    router.add_get("/api/calls", list_calls)
    router.add_get("/api/calls/{call_id}", get_call)


def refuse(exc: FilterError) -> web.Response:
    """The 400 for a parameter ``storage`` refused."""
    return bad_request(BadParameter(exc.param, str(exc)))


async def list_calls(request: web.Request) -> web.Response:
    try:
        f = parse_filters(request.query, extra=LIST_PARAMS)
        sort = Sort.parse(request.query.get("sort"))
        limit = parse_limit(request.query.get("limit"))
        cursor = request.query.get("cursor")
        after = Cursor.decode(cursor, sort) if cursor else None
    except FilterError as exc:
        return refuse(exc)

    def run(conn: Connection) -> tuple[Page, dict[str, JSONObject]]:
        page = listing.fetch_page(conn, f, sort, limit, after)
        return page, feedback.summaries(conn, [r.id for r in page.records])

    page, summaries = await read(request.app[ENGINE], run)
    calls: list[JSON] = []
    for record in page.records:
        item = record.to_api()
        item["feedback"] = summaries.get(record.id)
        calls.append(item)
    return web.json_response({"calls": calls, "next_cursor": page.next_cursor}, dumps=dumps)


async def get_call(request: web.Request) -> web.Response:
    call_id = request.match_info["call_id"]
    engine = request.app[ENGINE]

    def run(conn: Connection) -> tuple[CallRecord | None, list[feedback.FeedbackEntry]]:
        record = stored.get_call(conn, call_id)
        return record, feedback.list_feedback(conn, call_id) if record else []

    record, entries = await read(engine, run)
    if record is None:
        return not_found(f"no call with id {call_id!r}")
    body = record.to_api()
    body["feedback"] = [entry.to_api() for entry in entries]
    return web.json_response(body, dumps=dumps)


_SORTS: list[JSON] = [f"{sign}{key}" for key in listing.SORT_KEYS for sign in ("-", "")]

SORT_PARAMETER = query(
    "sort",
    {"type": "string", "enum": _SORTS, "default": listing.DEFAULT_SORT},
    "order by this column, '-' for descending; NULLs come last either way, then id breaks ties",
)

OPENAPI_PATHS: dict[str, dict[str, JSONObject]] = {
    "/api/calls": {
        "get": operation(
            "Recorded calls, filtered and sorted, one page at a time",
            ok=schemas.ref(schemas.CallList),
            description=FILTER_DESCRIPTION
            + " Pages are keyset pages: pass `next_cursor` back as `cursor` with the same"
            " filters and sort; rows written meanwhile never shift or repeat rows.",
            parameters=[
                *FILTER_PARAMETERS,
                SORT_PARAMETER,
                query(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": listing.MAX_LIMIT},
                    f"page size (default {listing.DEFAULT_LIMIT})",
                ),
                query("cursor", {"type": "string"}, "next_cursor of the previous page"),
            ],
        )
    },
    "/api/calls/{call_id}": {
        "get": operation(
            "One call with all its feedback",
            ok=schemas.ref(schemas.CallDetail),
            errors=(404,),
            parameters=[path_param("call_id", "the call's id (Wiretrace-Call-Id)")],
        )
    },
}
