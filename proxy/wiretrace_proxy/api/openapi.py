"""``GET /api/openapi.json``: an OpenAPI 3.1 document of every endpoint the app serves.

The document is built from the app's own routes, so it cannot describe an endpoint that
does not exist, and a test fails for any ``/api/`` route it does not describe. It also
carries the API's vocabulary as ``enum``s taken from the server's own constants: filter
names and values, sort keys, stats group keys, compare metrics, record statuses. The web
UI generates its TypeScript types and its vocabulary from it (``make web-types`` runs
``python -m wiretrace_proxy.api.openapi``); scripts can too.

How an endpoint is documented (the pattern every handler module follows)::

    # api/stats.py, next to the handler
    OPENAPI_PATHS: dict[str, dict[str, JSONObject]] = {
        "/api/stats": {                       # the path exactly as routed with aiohttp
            "get": operation(                 # lower-case method
                "Aggregates per group",
                ok=schemas.ref(schemas.Stats),  # or any JSON Schema
                parameters=[*FILTER_PARAMETERS, query("group_by", {...}, "...")],
            ),
        },
    }

1. ``OPENAPI_PATHS`` sits in the module whose handlers serve those paths: this module finds
   it through each route's handler (``handler.__module__``), so there is nothing to register
   here. Build operations with ``operation``, ``query``, ``path_param`` and
   ``FILTER_PARAMETERS`` (the ``storage/filters.py`` vocabulary, for endpoints taking it;
   each is a ``components.parameters`` entry named ``filter.<name>``).
2. Response and body shapes are pydantic models in ``api/schemas.py``, listed in
   ``schemas.MODELS`` and referred to with ``schemas.ref(Model)``; or a module defines
   ``OPENAPI_SCHEMAS: dict[str, JSONObject]`` (component name -> JSON Schema) itself.
   A closed set of values is an ``enum`` built from the constant the server checks against,
   never a second list.
3. ``tests/proxy/api/test_openapi_contract.py``: add a real request to ``EXAMPLES`` so the
   response is validated against the document. ``make web-types`` then regenerates the
   UI's copy; ``tests/proxy/api/test_openapi_snapshot.py`` fails until it is run.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import cast, get_args

from aiohttp import web

from wiretrace_proxy.api import schemas
from wiretrace_proxy.api.schemas import ref
from wiretrace_proxy.callrecord import JSON, JSONObject, Status
from wiretrace_proxy.storage import filters

__all__ = [
    "FILTER_PARAMETERS",
    "OPENAPI_PATHS",
    "add_routes",
    "build_document",
    "document_text",
    "operation",
    "path_param",
    "query",
    "vocabulary_text",
]

Paths = dict[str, dict[str, JSONObject]]

ERRORS: dict[int, str] = {
    400: "A parameter or the body cannot be used; `error.param` names it.",
    404: "Nothing with that name or id.",
    413: "The body is larger than this endpoint takes (counted as read, chunked or not).",
    503: "Storage unavailable; retry later.",
}

ACCESS_ERRORS: dict[int, str] = {
    401: "Not signed in: the server was started with --auth-token; send "
    "`Authorization: Bearer <token>` (or the session cookie of /signin).",
    403: "Refused: a state change sent by a page of another site (its `Origin`).",
    415: "A state change takes a JSON body: `Content-Type: application/json`.",
}
"""Answers of the access checks (``access/``), before any handler: 401 on every API
operation, 403 and 415 on the ones that change state."""
_STATE_CHANGING = ("post", "put", "patch", "delete")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/api/openapi.json", get_document)


async def get_document(request: web.Request) -> web.Response:
    return web.json_response(build_document(request.app))


def query(name: str, schema: JSONObject, description: str, *, required: bool = False) -> JSONObject:
    """A query parameter."""
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }


def path_param(name: str, description: str, schema: JSONObject | None = None) -> JSONObject:
    """A path parameter (a string unless ``schema`` says more)."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def operation(
    summary: str,
    *,
    ok: JSONObject | None = None,
    status: int = 200,
    errors: Iterable[int] = (400,),
    parameters: Iterable[JSONObject] = (),
    body: JSONObject | None = None,
    content: Mapping[str, JSONObject] | None = None,
    description: str | None = None,
) -> JSONObject:
    """An operation answering ``status`` with JSON matching ``ok`` (or the media types of
    ``content``), and the shared error shape for each status in ``errors``."""
    media: JSONObject = dict(content or {"application/json": {"schema": ok or {}}})
    responses: JSONObject = {str(status): {"description": summary, "content": media}}
    for code in errors:
        responses[str(code)] = {
            "description": ERRORS[code],
            "content": {"application/json": {"schema": ref(schemas.Error)}},
        }
    op: JSONObject = {"summary": summary, "responses": responses}
    if description:
        op["description"] = description
    if parameters:
        op["parameters"] = list(parameters)
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


def _filter_parameters() -> list[JSONObject]:
    statuses: list[JSON] = list(get_args(Status))
    enums: dict[str, list[JSON]] = {"status": statuses, "kind": list(filters.KINDS)}
    out = [
        query(
            name,
            {"type": "string", "enum": enums[name]} if name in enums else {"type": "string"},
            f"only calls whose {name} is exactly this",
        )
        for name in filters.EXACT
    ]
    for name, column in filters.RANGES.items():
        for bound, word in (("min", "at least"), ("max", "at most")):
            out.append(query(f"{bound}_{name}", {"type": "number"}, f"{column} {word} this"))
    time: JSONObject = {"type": "string", "format": "date-time"}
    out += [
        query("since", time, "started at or after this time (ISO 8601)"),
        query("until", time, "started before this time (ISO 8601)"),
        query("q", {"type": "string"}, "text in inputs or output (literal, ASCII case ignored)"),
        query("roots_only", {"type": "boolean"}, "only top-level calls (no recorded parent)"),
        query(
            "feedback",
            {"type": "string", "enum": list(filters.FEEDBACK_VALUES)},
            "calls with thumbs up, thumbs down, any feedback, or none",
        ),
    ]
    return out


FILTER_PREFIX = "filter."

FILTER_COMPONENTS: dict[str, JSONObject] = {
    f"{FILTER_PREFIX}{param['name']}": param for param in _filter_parameters()
}
"""``components.parameters``: one entry per parameter of ``storage/filters.py``, in its
order; the names are exactly ``filters.PARAMS`` (a test checks)."""

FILTER_PARAMETERS: list[JSONObject] = [
    {"$ref": f"#/components/parameters/{key}"} for key in FILTER_COMPONENTS
]
"""The filter parameters, for an operation's ``parameters``; ``property.<key>=<value>``
cannot be named in OpenAPI, so ``FILTER_DESCRIPTION`` explains it in the description."""

FILTER_DESCRIPTION = (
    "Filters combine with AND. `property.<key>=<value>` matches a recorded property "
    "(`Wiretrace-Property-<Key>` header; keys ignore case). Unknown parameters get a 400 "
    "listing the allowed ones."
)

OPENAPI_PATHS: Paths = {
    "/api/openapi.json": {
        "get": operation(
            "This document (OpenAPI 3.1)", ok={"type": "object"}, errors=(), status=200
        )
    }
}


@cache
def _components() -> dict[str, JSONObject]:
    return schemas.component_schemas()


def _version() -> str:
    try:
        return metadata.version("wiretrace")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def build_document(app: web.Application) -> JSONObject:
    """The OpenAPI document for the routes ``app`` has."""
    paths: Paths = {}
    components: dict[str, JSONObject] = dict(_components())
    seen: set[str] = set()
    for route in app.router.routes():
        name = getattr(route.handler, "__module__", None)
        if not isinstance(name, str) or name in seen:
            continue
        seen.add(name)
        module = sys.modules.get(name)
        documented: Paths = getattr(module, "OPENAPI_PATHS", None) or {}
        for path, operations in documented.items():
            paths.setdefault(path, {}).update(operations)
        components.update(getattr(module, "OPENAPI_SCHEMAS", {}))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "wiretrace",
            "version": _version(),
            "description": "Recorded LLM calls: query, feedback, export, traces, SDK spans.",
        },
        "paths": cast(JSONObject, dict(sorted(_with_access_errors(paths).items()))),
        "components": {
            "schemas": cast(JSONObject, components),
            "parameters": cast(JSONObject, dict(FILTER_COMPONENTS)),
        },
    }


def _with_access_errors(paths: Paths) -> Paths:
    """``paths`` with ``ACCESS_ERRORS`` added to each ``/api`` and ``/otlp`` operation (an
    operation's own answer for a status wins); the modules' constants are left as they are."""
    out: Paths = {}
    for path, operations in paths.items():
        if not path.startswith(("/api/", "/otlp/")):
            out[path] = operations
            continue
        out[path] = {}
        for method, op in operations.items():
            responses = dict(cast(JSONObject, op.get("responses", {})))
            codes = (401, 403, 415) if method in _STATE_CHANGING else (401,)
            for code in codes:
                responses.setdefault(
                    str(code),
                    {
                        "description": ACCESS_ERRORS[code],
                        "content": {"application/json": {"schema": ref(schemas.Error)}},
                    },
                )
            out[path][method] = {**op, "responses": responses}
    return out


def document_text(app: web.Application) -> str:
    """The document as committed in ``web/src/api/openapi.json``."""
    return json.dumps(build_document(app), indent=2) + "\n"


# --- the web UI's vocabulary, read back from the document -------------------------------


def _at(value: JSON, *keys: str) -> JSON:
    """``value[k1][k2]...``; a list step picks the parameter of that ``name``."""
    for key in keys:
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list):
            named = [v for v in value if isinstance(v, dict) and v.get("name") == key]
            if not named:
                raise KeyError(f"no parameter {key!r} in the document")
            value = named[0]
        else:
            raise KeyError(f"no {key!r} in the document")
    return value


def _strings(value: JSON) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"expected a list of strings, got {value!r}")
    return [v for v in value if isinstance(v, str)]


def _enum_of_any(schema: JSON) -> list[str]:
    """The ``enum`` of a schema, or of the one ``anyOf`` branch that has one."""
    if isinstance(schema, dict) and "enum" in schema:
        return _strings(schema["enum"])
    branches = _at(schema, "anyOf")
    found = (
        [b for b in branches if isinstance(b, dict) and "enum" in b]
        if isinstance(branches, list)
        else []
    )
    if len(found) != 1:
        raise ValueError(f"expected one enum in {schema!r}")
    return _strings(found[0]["enum"])


VOCABULARY_HEADER = """\
/**
 * The server's vocabulary (statuses, filters, sort keys, stats groups, compare metrics),
 * read from its OpenAPI document. Generated by `make web-types` from `openapi.json`
 * (`python -m wiretrace_proxy.api.openapi --vocabulary`): do not edit by hand.
 */
"""


def vocabulary(doc: JSONObject) -> list[tuple[str, list[str] | str, str]]:
    """The closed sets of values the UI needs: ``(name, value, where in the document)``."""
    schemas_: JSON = _at(doc, "components", "schemas")
    parameters: JSON = _at(doc, "components", "parameters")
    calls: JSON = _at(doc, "paths", "/api/calls", "get", "parameters")
    stats: JSON = _at(doc, "paths", "/api/stats", "get", "parameters")
    assert isinstance(parameters, dict)
    filter_names = [
        name
        for key, param in parameters.items()
        if key.startswith(FILTER_PREFIX) and isinstance(name := _at(param, "name"), str)
    ]
    default_sort = _at(calls, "sort", "schema", "default")
    assert isinstance(default_sort, str)
    record = "components.schemas.CallRecord.properties"
    return [
        (
            "CALL_STATUSES",
            _strings(_at(schemas_, "CallRecord", "properties", "status", "enum")),
            f"{record}.status",
        ),
        (
            "KIND_FILTERS",
            _strings(_at(parameters, "filter.kind", "schema", "enum")),
            "components.parameters.filter.kind",
        ),
        (
            "FEEDBACK_FILTERS",
            _strings(_at(parameters, "filter.feedback", "schema", "enum")),
            "components.parameters.filter.feedback",
        ),
        ("FILTER_PARAMS", filter_names, "components.parameters.filter.*, by name"),
        ("CALL_SORTS", _strings(_at(calls, "sort", "schema", "enum")), "GET /api/calls `sort`"),
        ("DEFAULT_CALL_SORT", default_sort, "GET /api/calls `sort` default"),
        (
            "STATS_GROUP_KEYS",
            _enum_of_any(_at(stats, "group_by", "schema")),
            "GET /api/stats `group_by`, besides property.<name>",
        ),
        ("STATS_SORTS", _strings(_at(stats, "sort", "schema", "enum")), "GET /api/stats `sort`"),
        (
            "COMPARE_SECTIONS",
            _strings(_at(schemas_, "CompareField", "properties", "section", "enum")),
            "components.schemas.CompareField.properties.section",
        ),
        (
            "COMPARE_METRICS",
            _strings(_at(schemas_, "CompareMetric", "enum")),
            "components.schemas.CompareMetric",
        ),
    ]


def _ts_value(value: list[str] | str) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    one_line = json.dumps(value)
    if len(one_line) <= 72:
        return one_line
    return "[\n" + "".join(f"  {json.dumps(v)},\n" for v in value) + "]"


def vocabulary_text(doc: JSONObject) -> str:
    """``web/src/api/vocabulary.ts``: each set as a ``const`` tuple."""
    parts = [VOCABULARY_HEADER]
    for name, value, source in vocabulary(doc):
        parts.append(f"\n/** {source} */\nexport const {name} = {_ts_value(value)} as const;\n")
    return "".join(parts)


def main(argv: list[str] | None = None) -> None:
    """Print (or write to ``--output``, only once built) the document of a default app, or
    the UI's vocabulary (``make web-types``)."""
    parser = argparse.ArgumentParser(prog="python -m wiretrace_proxy.api.openapi")
    parser.add_argument(
        "--vocabulary", action="store_true", help="web/src/api/vocabulary.ts instead"
    )
    parser.add_argument("--output", type=Path, help="write here instead of standard output")
    args = parser.parse_args(argv)
    from wiretrace_proxy.app import create_app
    from wiretrace_proxy.settings import Settings

    app = create_app(Settings())
    text = vocabulary_text(build_document(app)) if args.vocabulary else document_text(app)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
