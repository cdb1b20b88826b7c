"""``GET /api/pricing/unknown``: the models a user should add to the prices file.

Lists models of calls that have token usage but no cost, minus those the current prices
(genai-prices plus the server's ``--prices`` file) can price: those calls only need
``wiretrace reprice``, and are counted in ``repriceable_calls``.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache

from aiohttp import web
from pydantic import Field

from wiretrace_proxy.api.errors import BadParameter, bad_request
from wiretrace_proxy.api.openapi import operation, query
from wiretrace_proxy.api.schemas import Closed, component_schemas
from wiretrace_proxy.appkeys import ENGINE, SETTINGS
from wiretrace_proxy.callrecord import JSONObject
from wiretrace_proxy.errors import ConfigError
from wiretrace_proxy.record.pricing import Pricer
from wiretrace_proxy.settings import Settings
from wiretrace_proxy.storage.pricing import unknown_models


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/api/pricing/unknown", list_unknown)


@lru_cache(maxsize=4)
def _pricer(settings: Settings) -> Pricer:
    """One pricer per settings: building one reads the price data and the prices file."""
    return Pricer.from_settings(settings)


async def list_unknown(request: web.Request) -> web.Response:
    """``{"models": [{model, response_model, calls, last_seen}], "repriceable_calls", ...}``."""
    for param in request.query:
        if param != "project":
            return bad_request(
                BadParameter(param, f"unknown parameter {param!r}; allowed: project")
            )
    project = request.query.get("project") or None
    engine, settings = request.app[ENGINE], request.app[SETTINGS]

    def run() -> JSONObject:
        pricer = _pricer(settings)
        with engine.connect() as conn:
            models, repriceable = unknown_models(conn, pricer, project=project)
        return {"models": list(models), "repriceable_calls": repriceable, "source": pricer.source}

    try:
        body = await asyncio.to_thread(run)
    except ConfigError as exc:
        return web.json_response({"error": {"message": str(exc), "param": None}}, status=500)
    return web.json_response(body)


class UnknownModel(Closed):
    model: str | None = Field(description="the model requested")
    response_model: str | None = Field(description="the model that answered")
    calls: int = Field(description="calls with usage but no cost")
    last_seen: str = Field(json_schema_extra={"format": "date-time"})


class UnknownModelList(Closed):
    models: list[UnknownModel] = Field(description="no price known: add to a prices file")
    repriceable_calls: int = Field(description="null-cost calls today's prices can price")
    source: str = Field(description="the price source, e.g. genai-prices 0.2.3")


OPENAPI_SCHEMAS = component_schemas((UnknownModelList,))
OPENAPI_PATHS: dict[str, dict[str, JSONObject]] = {
    "/api/pricing/unknown": {
        "get": operation(
            "Models of calls that have usage but no cost and that no price covers",
            ok={"$ref": "#/components/schemas/UnknownModelList"},
            errors=(400,),
            parameters=[query("project", {"type": "string"}, "only this project")],
        )
    }
}
