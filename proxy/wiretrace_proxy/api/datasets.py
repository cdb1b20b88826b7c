"""``/api/datasets``: post rows as a dataset version, make one from recorded calls, read.

A version is named by the digest of its rows (``evaluations.digests``): posting rows a
version already holds answers 200 with it, new rows 201 with a new version.

``POST /api/datasets/from-calls`` takes ``name``, ``project``, ``limit`` and any filter of
``GET /api/calls`` as body fields (``project`` filters the calls too; ``kind`` defaults to
``llm``, since SDK spans carry no request). It takes the newest ``limit`` matching calls and
stores them oldest first, one row per call: ``inputs`` is the request body as recorded,
``reference_output`` the recorded output, plus ``source_call_id``, ``model``, ``op_name``
and ``endpoint`` (the path called).

The replay rule: ``json.dumps(row["inputs"], ensure_ascii=False, separators=(",", ":"))``
in UTF-8 (how the ``openai`` SDK serialises a body) gives back the bytes the app sent
when the app sent them in that form (every ``openai`` SDK call does), on SQLite and
PostgreSQL alike: PostgreSQL's ``JSONB`` sorts the keys of ``calls.inputs``, so their
order is stored beside it and put back here (``storage/key_order.py``; calls recorded
before that came in read back in ``JSONB``'s order). A body with a secret in it was
recorded redacted, a ``NaN`` as the string ``"NaN"``, and on PostgreSQL a number is read
back as PostgreSQL writes it (``1e2`` as ``100``): those rows hold what was recorded, not
what was sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from aiohttp import web
from sqlalchemy.engine import Connection

from wiretrace_proxy.api import eval_schemas as shapes
from wiretrace_proxy.api.errors import BadParameter, bad_request, not_found
from wiretrace_proxy.api.eval_bodies import WriteFailed, offset_limit, project_of, read_model, write
from wiretrace_proxy.api.jsonio import BodyTooLarge, json_response
from wiretrace_proxy.api.openapi import FILTER_COMPONENTS, operation, path_param, query
from wiretrace_proxy.api.reads import read
from wiretrace_proxy.api.schemas import ref
from wiretrace_proxy.appkeys import ENGINE
from wiretrace_proxy.callrecord import JSON, CallRecord, JSONObject
from wiretrace_proxy.storage import datasets, listing
from wiretrace_proxy.storage.datasets import DatasetVersion
from wiretrace_proxy.storage.filters import FilterError, parse_filters
from wiretrace_proxy.storage.key_order import in_key_order, stored_key_orders
from wiretrace_proxy.storage.listing import Cursor, Sort

__all__ = ["OPENAPI_PATHS", "OPENAPI_SCHEMAS", "add_routes"]

MAX_BODY = 256 * 1024 * 1024
"""A dataset is posted in one body: 256 MiB."""


def _from_calls_schema() -> JSONObject:
    """``DatasetFromCallsIn`` exactly: its own fields and each ``/api/calls`` filter, typed
    as that filter's query parameter is (``openapi.FILTER_COMPONENTS``)."""
    model = dict(shapes.OPENAPI_SCHEMAS["DatasetFromCallsIn"])
    properties = dict(cast(JSONObject, model["properties"]))
    for param in FILTER_COMPONENTS.values():
        properties.setdefault(str(param["name"]), param["schema"])
    model["properties"] = properties
    model["patternProperties"] = {r"^property\..+": {"type": "string"}}
    model["additionalProperties"] = False
    return model


OPENAPI_SCHEMAS = {**shapes.OPENAPI_SCHEMAS, "DatasetFromCallsIn": _from_calls_schema()}


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/api/datasets", post_dataset)
    router.add_get("/api/datasets", list_datasets)
    router.add_post("/api/datasets/from-calls", dataset_from_calls)
    router.add_get("/api/datasets/{name}", get_dataset)
    router.add_get("/api/datasets/{name}/rows", get_rows)


async def _store(
    request: web.Request, project: str, name: str, rows: list[JSON], source: JSONObject
) -> web.Response:
    def store(conn: Connection, now: datetime) -> tuple[DatasetVersion, bool]:
        return datasets.add_version(conn, project, name, rows, source, now)

    try:
        version, created = await write(request.app[ENGINE], store)
    except WriteFailed as exc:
        return exc.response()
    return json_response(version.to_api(), status=201 if created else 200)


async def post_dataset(request: web.Request) -> web.Response:
    try:
        given = await read_model(request, shapes.DatasetIn, MAX_BODY)
    except BodyTooLarge as exc:
        return exc.response()
    except BadParameter as exc:
        return bad_request(exc)
    rows: list[JSON] = list(given.rows)
    project = project_of(request, given.project)
    return await _store(request, project, given.name, rows, {"kind": "rows"})


def _filter_query(fields: dict[str, object]) -> dict[str, str]:
    """Body fields as the query strings ``parse_filters`` reads, each of the JSON type the
    document gives it (``DatasetFromCallsIn``): a string, a number or a boolean."""
    out: dict[str, str] = {}
    for name, value in fields.items():
        schema = FILTER_COMPONENTS.get(f"filter.{name}", {}).get("schema")
        kind = schema.get("type", "string") if isinstance(schema, dict) else "string"
        if kind == "boolean" and isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = repr(value)
        elif kind == "string" and isinstance(value, str):
            if not value and isinstance(schema, dict) and "format" in schema:
                raise BadParameter(name, f"{name} must be a {schema['format']}, got ''")
            out[name] = value
        else:
            raise BadParameter(name, f"{name} must be a {kind}")
    return out


async def dataset_from_calls(request: web.Request) -> web.Response:
    try:
        given = await read_model(request, shapes.DatasetFromCallsIn, 1024 * 1024)
        fields = _filter_query(dict(given.model_extra or {}))
        if given.project:
            fields["project"] = given.project
        fields.setdefault("kind", "llm")
        f = parse_filters(fields)
    except BodyTooLarge as exc:
        return exc.response()
    except BadParameter as exc:
        return bad_request(exc)
    except FilterError as exc:
        return bad_request(BadParameter(exc.param, str(exc)))
    limit = given.limit

    def collect(conn: Connection) -> list[JSON]:
        rows: list[JSON] = []
        sort, after = Sort.parse(None), None
        while len(rows) < limit:
            size = min(listing.MAX_LIMIT, limit - len(rows))
            page = listing.fetch_page(conn, f, sort, size, after)
            orders = stored_key_orders(conn, [record.id for record in page.records])
            rows.extend(_row_of(record, orders.get(record.id)) for record in page.records)
            if page.next_cursor is None:
                break
            after = Cursor.decode(page.next_cursor, sort)
        rows.reverse()  # the newest calls chosen, stored oldest first
        return rows

    rows = await read(request.app[ENGINE], collect)
    source: JSONObject = {"kind": "calls", "filters": dict(fields), "limit": limit}
    project = project_of(request, given.project)
    return await _store(request, project, given.name, rows, source)


def _row_of(call: CallRecord, key_order: JSON) -> JSONObject:
    """A dataset row of a call: its body in the order sent, the keys' order being stored
    apart where the database sorts them (``storage/key_order.py``)."""
    request_meta = call.attributes.get("request")
    endpoint = request_meta.get("path") if isinstance(request_meta, dict) else None
    inputs = call.inputs if key_order is None else in_key_order(call.inputs, key_order)
    return {
        "inputs": inputs,
        "reference_output": call.output,
        "source_call_id": call.id,
        "model": call.model,
        "op_name": call.op_name,
        "endpoint": endpoint,
    }


async def list_datasets(request: web.Request) -> web.Response:
    project = project_of(request, request.query.get("project"))
    found = await read(request.app[ENGINE], lambda conn: datasets.list_datasets(conn, project))
    return json_response({"datasets": found})


async def get_dataset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    project = project_of(request, request.query.get("project"))
    versions = await read(
        request.app[ENGINE], lambda conn: datasets.dataset_versions(conn, project, name)
    )
    if not versions:
        return not_found(f"no dataset {name!r} in project {project!r}")
    body = {"name": name, "project": project, "versions": [v.to_listed() for v in versions]}
    return json_response(body)


async def get_rows(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    project = project_of(request, request.query.get("project"))
    version = request.query.get("version") or None
    try:
        offset, limit = offset_limit(request.query)
    except BadParameter as exc:
        return bad_request(exc)
    page = await read(
        request.app[ENGINE],
        lambda conn: datasets.read_rows(conn, project, name, version, offset, limit),
    )
    if page is None:
        which = f"version {version!r} of dataset" if version else "dataset"
        return not_found(f"no {which} {name!r} in project {project!r}")
    rows: list[JSON] = [{"index": i, "values": values} for i, values in page.rows]
    body = {
        "name": name,
        "version": page.version,
        "offset": offset,
        "limit": limit,
        "total": page.total,
        "rows": rows,
    }
    return json_response(body)


_EXISTING = "A version with exactly these rows existed: that version, nothing stored."
_PROJECT = query("project", {"type": "string"}, "the project (default: the server's)")
_NAME = path_param("name", "the dataset's name")

OPENAPI_PATHS: dict[str, dict[str, JSONObject]] = {
    "/api/datasets": {
        "post": shapes.also_answers(
            operation(
                "Store rows as a dataset version (201), or find the version holding them (200)",
                ok=ref(shapes.DatasetVersion),
                status=201,
                errors=(400, 413, 503),
                body=ref(shapes.DatasetIn),
                description="The version is the first 16 hex digits of the sha256 of the rows'"
                " canonical JSON (sorted keys, no spaces); posting the same rows again answers"
                " 200 with that version.",
            ),
            200,
            _EXISTING,
            ref(shapes.DatasetVersion),
        ),
        "get": operation(
            "A project's datasets with their newest version",
            ok=ref(shapes.DatasetList),
            parameters=[_PROJECT],
        ),
    },
    "/api/datasets/from-calls": {
        "post": shapes.also_answers(
            operation(
                "A dataset version made from recorded calls: each row the exact request body",
                ok=ref(shapes.DatasetVersion),
                status=201,
                errors=(400, 413, 503),
                body=ref(shapes.DatasetFromCallsIn),
                description="Body fields besides name, project and limit are /api/calls"
                " filters (kind defaults to llm). Rows are the newest `limit` calls, oldest"
                " first: {inputs, reference_output, source_call_id, model, op_name, endpoint}.",
            ),
            200,
            _EXISTING,
            ref(shapes.DatasetVersion),
        ),
    },
    "/api/datasets/{name}": {
        "get": operation(
            "A dataset's versions, newest first",
            ok=ref(shapes.DatasetDetail),
            errors=(404,),
            parameters=[_NAME, _PROJECT],
        ),
    },
    "/api/datasets/{name}/rows": {
        "get": operation(
            "A page of a dataset version's rows (the newest version by default)",
            ok=ref(shapes.DatasetRows),
            errors=(400, 404),
            parameters=[
                _NAME,
                _PROJECT,
                query("version", {"type": "string"}, "the version (default: the newest)"),
                query("offset", {"type": "integer", "minimum": 0}, "rows to skip"),
                query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "page size"),
            ],
        ),
    },
}
