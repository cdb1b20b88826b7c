"""``/api/ops``, ``/api/ops/{name}/versions``, ``/api/models``, ``/api/models/{name}/versions``.

Versions are numbered 1, 2, ... in the order the server first saw them; each carries its
digest, its source (ops) or attribute values (models), and how many calls it made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web
from sqlalchemy.engine import Connection

from wiretrace_proxy.api import schemas
from wiretrace_proxy.api.errors import not_found
from wiretrace_proxy.api.openapi import operation, path_param, query
from wiretrace_proxy.appkeys import ENGINE
from wiretrace_proxy.callrecord import JSONObject
from wiretrace_proxy.storage import versions


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/api/ops", list_ops)
    router.add_get("/api/ops/{name}/versions", op_versions)
    router.add_get("/api/models", list_models)
    router.add_get("/api/models/{name}/versions", model_versions)


async def _read(
    request: web.Request, query: Callable[[Connection], list[JSONObject]]
) -> list[JSONObject]:
    engine = request.app[ENGINE]

    def run() -> list[JSONObject]:
        with engine.connect() as conn:
            return query(conn)

    return await asyncio.to_thread(run)


async def list_ops(request: web.Request) -> web.Response:
    project = request.query.get("project")
    ops = await _read(request, lambda conn: versions.list_ops(conn, project))
    return web.json_response({"ops": ops})


async def op_versions(request: web.Request) -> web.Response:
    name, project = request.match_info["name"], request.query.get("project")
    found = await _read(request, lambda conn: versions.op_versions(conn, name, project))
    if not found:
        return not_found(f"no op named {name!r}")
    return web.json_response({"op_name": name, "versions": found})


async def list_models(request: web.Request) -> web.Response:
    project = request.query.get("project")
    models = await _read(request, lambda conn: versions.list_models(conn, project))
    return web.json_response({"models": models})


async def model_versions(request: web.Request) -> web.Response:
    name, project = request.match_info["name"], request.query.get("project")
    found = await _read(request, lambda conn: versions.model_versions(conn, name, project))
    if not found:
        return not_found(f"no model named {name!r}")
    return web.json_response({"name": name, "versions": found})


_NAME = path_param("name", "op or model name")
_PROJECT = query("project", {"type": "string"}, "only this project")

OPENAPI_PATHS: dict[str, dict[str, JSONObject]] = {
    "/api/ops": {
        "get": operation("SDK ops", ok=schemas.ref(schemas.OpList), parameters=[_PROJECT])
    },
    "/api/ops/{name}/versions": {
        "get": operation(
            "Versions of an op, numbered in the order first seen",
            ok=schemas.ref(schemas.OpVersionList),
            errors=(404,),
            parameters=[_NAME, _PROJECT],
        )
    },
    "/api/models": {
        "get": operation(
            "wiretrace.Model classes", ok=schemas.ref(schemas.ModelList), parameters=[_PROJECT]
        )
    },
    "/api/models/{name}/versions": {
        "get": operation(
            "Versions of a model's configuration",
            ok=schemas.ref(schemas.ModelVersionList),
            errors=(404,),
            parameters=[_NAME, _PROJECT],
        )
    },
}
