"""``GET /api/openapi.json``: an OpenAPI 3.1 document of every endpoint the app serves.

The document is built from the app's own routes, so it cannot describe an endpoint that
does not exist, and a test fails for any ``/api/`` route it does not describe. The web UI
generates its TypeScript types from it (conventions.md 15); scripts can too.

How an endpoint is documented (the pattern every ``api/`` module follows)::

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
   ``FILTER_PARAMETERS`` (the ``storage/filters.py`` vocabulary, for endpoints taking it).
2. Response and body shapes are pydantic models in ``api/schemas.py``, listed in
   ``schemas.MODELS`` and referred to with ``schemas.ref(Model)``; or a module defines
   ``OPENAPI_SCHEMAS: dict[str, JSONObject]`` (component name -> JSON Schema) itself.
3. ``tests/proxy/api/test_openapi_contract.py``: add a real request to ``EXAMPLES`` so the
   response is validated against the document.

``UNOWNED_PATHS`` documents modules written before this pattern (spans, traces, ops,
health); move each entry next to its handler when that module is next edited.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import metadata
from typing import cast

from aiohttp import web

from wiretrace_proxy.api import schemas
from wiretrace_proxy.api.schemas import ref
from wiretrace_proxy.callrecord import JSONObject
from wiretrace_proxy.storage import filters

__all__ = [
    "FILTER_PARAMETERS",
    "OPENAPI_PATHS",
    "add_routes",
    "build_document",
    "operation",
    "path_param",
    "query",
]

Paths = dict[str, dict[str, JSONObject]]

ERRORS: dict[int, str] = {
    400: "A parameter or the body cannot be used; `error.param` names it.",
    404: "Nothing with that name or id.",
    503: "Storage unavailable; retry later.",
}


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


def path_param(name: str, description: str) -> JSONObject:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
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
    enums = {"status": filters.STATUSES, "kind": filters.KINDS}
    out = [
        query(
            name,
            {"type": "string", "enum": list(enums[name])} if name in enums else {"type": "string"},
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


FILTER_PARAMETERS: list[JSONObject] = _filter_parameters()
"""The query parameters of ``storage/filters.py``; ``property.<key>=<value>`` cannot be
named in OpenAPI, so ``FILTER_DESCRIPTION`` explains it in the operation's description."""

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

_NAME = path_param("name", "op or model name")
_PROJECT = query("project", {"type": "string"}, "only this project")

UNOWNED_PATHS: dict[str, Paths] = {
    "wiretrace_proxy.api.spans": {
        "/api/spans": {
            "post": operation(
                "Ingest SDK span events (idempotent by span id); 2xx means stored",
                ok=ref(schemas.SpansAccepted),
                errors=(400, 503),
                body=ref(schemas.SpanBatch),
            )
        }
    },
    "wiretrace_proxy.api.traces": {
        "/api/traces/{trace_id}": {
            "get": operation(
                "A whole trace: roots with nested children, oldest first",
                ok=ref(schemas.Trace),
                errors=(400, 404),
                parameters=[path_param("trace_id", "32 lowercase hex digits")],
            )
        }
    },
    "wiretrace_proxy.api.ops": {
        "/api/ops": {"get": operation("SDK ops", ok=ref(schemas.OpList), parameters=[_PROJECT])},
        "/api/ops/{name}/versions": {
            "get": operation(
                "Versions of an op, numbered in the order first seen",
                ok=ref(schemas.OpVersionList),
                errors=(404,),
                parameters=[_NAME, _PROJECT],
            )
        },
        "/api/models": {
            "get": operation(
                "wiretrace.Model classes", ok=ref(schemas.ModelList), parameters=[_PROJECT]
            )
        },
        "/api/models/{name}/versions": {
            "get": operation(
                "Versions of a model's configuration",
                ok=ref(schemas.ModelVersionList),
                errors=(404,),
                parameters=[_NAME, _PROJECT],
            )
        },
    },
    "wiretrace_proxy.health": {
        "/healthz": {
            "get": operation(
                "Is recording keeping up: queue depth, losses, storage errors",
                ok=ref(schemas.Health),
                errors=(),
            )
        }
    },
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
        documented: Paths | None = getattr(module, "OPENAPI_PATHS", None)
        for path, operations in (documented or UNOWNED_PATHS.get(name) or {}).items():
            paths.setdefault(path, {}).update(operations)
        components.update(getattr(module, "OPENAPI_SCHEMAS", {}))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "wiretrace",
            "version": _version(),
            "description": "Recorded LLM calls: query, feedback, export, traces, SDK spans.",
        },
        "paths": cast(JSONObject, dict(sorted(paths.items()))),
        "components": {"schemas": cast(JSONObject, components)},
    }
