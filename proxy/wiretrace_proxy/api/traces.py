"""``GET /api/traces/{trace_id}``: the whole tree, SDK spans and proxied calls alike.

Children are ordered by start time. A record whose parent is not in the trace (a parent
span that never arrived, or a caller outside wiretrace) is shown as a root, so nothing
recorded is hidden. Built iteratively: traces can be hundreds of levels deep.
"""

from __future__ import annotations

import re
import sys

from aiohttp import web
from sqlalchemy.engine import Connection

from wiretrace_proxy.api import schemas
from wiretrace_proxy.api.errors import BadParameter, bad_request, not_found
from wiretrace_proxy.api.jsonio import dumps
from wiretrace_proxy.api.openapi import operation, path_param
from wiretrace_proxy.api.reads import read
from wiretrace_proxy.appkeys import ENGINE
from wiretrace_proxy.callrecord import JSON, CallRecord, JSONObject
from wiretrace_proxy.storage import calls

_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/api/traces/{trace_id}", get_trace)


async def get_trace(request: web.Request) -> web.Response:
    trace_id = request.match_info["trace_id"]
    if not _TRACE_ID.match(trace_id):
        return bad_request(BadParameter("trace_id", "trace_id must be 32 lowercase hex digits"))
    engine = request.app[ENGINE]

    def run(conn: Connection) -> list[CallRecord]:
        return calls.trace_calls(conn, trace_id)

    records = await read(engine, run)
    if not records:
        return not_found(f"no trace with id {trace_id!r}")
    return web.json_response(build_tree(trace_id, records), dumps=_dumps)


def build_tree(trace_id: str, records: list[CallRecord]) -> JSONObject:
    """Roots with nested ``children`` (records arrive oldest first)."""
    nodes: dict[str, JSONObject] = {}
    for record in records:
        node = record.to_api()
        node["children"] = []
        nodes[record.id] = node
    roots: list[JSON] = []
    for record in records:
        parent = nodes.get(record.parent_id) if record.parent_id else None
        if parent is None or record.parent_id == record.id:
            roots.append(nodes[record.id])
        else:
            children = parent["children"]
            assert isinstance(children, list)
            children.append(nodes[record.id])
    starts = [r.started_at for r in records]
    ends = [r.ended_at for r in records if r.ended_at is not None]
    totals: JSONObject = {
        "calls": len(records),
        "llm_calls": sum(1 for r in records if r.kind == "llm"),
        "errors": sum(1 for r in records if r.status == "error"),
        "total_tokens": sum((r.usage.total_tokens or 0) for r in records if r.usage),
        "started_at": min(starts).isoformat(),
        "duration_ms": round((max(ends) - min(starts)).total_seconds() * 1000, 3) if ends else None,
    }
    return {"trace_id": trace_id, "roots": roots, "summary": totals}


def _dumps(value: object) -> str:
    """``jsonio.dumps`` (never ``NaN``) with room for deep trees (each level is a dict and a
    list)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))
    try:
        return dumps(value)
    finally:
        sys.setrecursionlimit(limit)


OPENAPI_PATHS: dict[str, dict[str, JSONObject]] = {
    "/api/traces/{trace_id}": {
        "get": operation(
            "A whole trace: roots with nested children, oldest first",
            ok=schemas.ref(schemas.Trace),
            errors=(400, 404),
            parameters=[
                path_param(
                    "trace_id",
                    "32 lowercase hex digits",
                    {"type": "string", "pattern": _TRACE_ID.pattern},
                )
            ],
        )
    }
}
