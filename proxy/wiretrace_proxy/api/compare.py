"""``GET /api/compare?ids=a,b,...``: 2–4 calls side by side with a structured diff.

The records come back in the order asked for, each with its feedback summary; ``fields``
lists every metric, parameter, input and output leaf with one value per call and whether
they agree (``wiretrace_proxy.api.comparison`` says how records are split and flattened).
"""

from __future__ import annotations

from aiohttp import web
from pydantic import JsonValue
from sqlalchemy.engine import Connection

from wiretrace_proxy.api import schemas
from wiretrace_proxy.api.comparison import (
    MAX_CALLS,
    METRICS,
    MIN_CALLS,
    Section,
    compare_records,
)
from wiretrace_proxy.api.errors import BadParameter, bad_request, not_found
from wiretrace_proxy.api.jsonio import dumps
from wiretrace_proxy.api.openapi import operation, query
from wiretrace_proxy.api.reads import read
from wiretrace_proxy.appkeys import ENGINE
from wiretrace_proxy.callrecord import JSON, CallRecord, JSONObject
from wiretrace_proxy.storage import calls as stored
from wiretrace_proxy.storage import feedback


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/api/compare", get_compare)


def parse_ids(values: list[str]) -> list[str]:
    """The ids of ``ids=a,b`` (or repeated ``ids=a&ids=b``), or ``BadParameter``."""
    ids = [part.strip() for value in values for part in value.split(",") if part.strip()]
    if not MIN_CALLS <= len(ids) <= MAX_CALLS:
        raise BadParameter(
            "ids",
            f"ids must name {MIN_CALLS} to {MAX_CALLS} call ids, comma-separated; got {len(ids)}",
        )
    if len(set(ids)) != len(ids):
        raise BadParameter("ids", "ids must not repeat a call id")
    return ids


async def get_compare(request: web.Request) -> web.Response:
    try:
        ids = parse_ids(request.query.getall("ids", []))
    except BadParameter as exc:
        return bad_request(exc)

    def run(conn: Connection) -> tuple[dict[str, CallRecord], dict[str, JSONObject]]:
        found = {cid: rec for cid in ids if (rec := stored.get_call(conn, cid)) is not None}
        return found, feedback.summaries(conn, list(found))

    found, summaries = await read(request.app[ENGINE], run)
    missing = [cid for cid in ids if cid not in found]
    if missing:
        return not_found(f"no call with id {', '.join(repr(m) for m in missing)}")
    records = [found[cid] for cid in ids]
    calls: list[JSON] = []
    for record in records:
        item = record.to_api()
        item["feedback"] = summaries.get(record.id)
        calls.append(item)
    body: JSONObject = {"calls": calls, **compare_records(records).to_api()}
    return web.json_response(body, dumps=dumps)


class CompareField(schemas.Closed):
    section: Section
    path: str
    """Where the value sits, e.g. ``inputs.messages[0].content``, ``usage.total_tokens``."""
    values: list[JsonValue]
    """One per call, in ``ids`` order; null where a call has no such field."""
    same: bool


class Comparison(schemas.Closed):
    calls: list[schemas.CallListItem]
    fields: list[CompareField]
    differing_sections: list[str]
    differing_fields: int
    truncated: bool
    """True when the records had more fields than are listed."""


OPENAPI_SCHEMAS: dict[str, JSONObject] = {
    **schemas.component_schemas((Comparison,)),
    "CompareMetric": {
        "type": "string",
        "enum": list(METRICS),
        "description": "The paths of the `metrics` section, in the order they are listed.",
    },
}

OPENAPI_PATHS: dict[str, dict[str, JSONObject]] = {
    "/api/compare": {
        "get": operation(
            "Two to four calls side by side, with which fields differ",
            ok=schemas.ref(Comparison),
            errors=(400, 404),
            parameters=[
                query(
                    "ids",
                    {"type": "string"},
                    f"{MIN_CALLS} to {MAX_CALLS} call ids, comma-separated",
                    required=True,
                )
            ],
            description=(
                "Every metric, request parameter, input (messages, tools, instructions) and "
                "output leaf, one value per call, with `same` telling whether they agree."
            ),
        )
    }
}
