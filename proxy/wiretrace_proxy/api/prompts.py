"""``GET /api/prompts`` and ``GET /api/prompts/versions?name=``: prompt versions from traffic.

``/api/prompts`` lists families (``storage.prompts``) with their versions;
``/api/prompts/versions`` gives one family's versions with each one's template, rebuilt
from its first call, and a unified diff (difflib over canonical pretty JSON) against the
version before it, plus the template parts that changed. ``exact`` is false when the
rebuilt template no longer digests to the version (inputs truncated or redacted on record).
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web
from pydantic import Field, JsonValue
from sqlalchemy.engine import Connection

from wiretrace_proxy.api.errors import BadParameter, bad_request, not_found
from wiretrace_proxy.api.openapi import operation, query
from wiretrace_proxy.api.reads import read
from wiretrace_proxy.api.schemas import Closed, component_schemas
from wiretrace_proxy.appkeys import ENGINE
from wiretrace_proxy.callrecord import JSONObject
from wiretrace_proxy.endpoints import Endpoint, create_op_endpoint
from wiretrace_proxy.record.prompts import (
    changed_keys,
    diff_templates,
    prompt_digest,
    prompt_template,
)
from wiretrace_proxy.storage import prompts as store

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/api/prompts", list_prompts)
    router.add_get("/api/prompts/versions", prompt_versions)


async def list_prompts(request: web.Request) -> web.Response:
    """``{"prompts": [{name, calls, first_seen, last_seen, versions: [...]}]}``."""
    try:
        _check(request.query, ("project", "limit"))
        limit = _limit(request.query.get("limit"))
    except BadParameter as exc:
        return bad_request(exc)
    project = request.query.get("project") or None
    engine = request.app[ENGINE]

    def run(conn: Connection) -> list[store.PromptFamily]:
        return store.list_families(conn, project=project)

    families = await read(engine, run)
    return web.json_response({"prompts": [_family(f) for f in families[:limit]]})


async def prompt_versions(request: web.Request) -> web.Response:
    """``{"name", "versions": [...]}``: the newest ``limit`` versions, oldest first."""
    query = request.query
    try:
        _check(query, ("name", "project", "limit"))
        name = query.get("name")
        if not name:
            raise BadParameter("name", "name is required: a prompt name from /api/prompts")
        limit = _limit(query.get("limit"))
    except BadParameter as exc:
        return bad_request(exc)
    project = query.get("project") or None
    engine = request.app[ENGINE]

    def run(conn: Connection) -> list[JSONObject]:
        return _versions(conn, name, project, limit)

    versions = await read(engine, run)
    if not versions:
        return not_found(f"no prompt named {name!r}")
    return web.json_response({"name": name, "versions": versions})


def _versions(conn: Connection, name: str, project: str | None, limit: int) -> list[JSONObject]:
    families = store.list_families(conn, name=name, project=project)
    if not families:
        return []
    versions = families[0].versions
    shown = versions[-limit:]
    before = versions[-limit - 1] if len(versions) > limit else None
    previous = _template(conn, name, before, project)[1] if before else None
    out: list[JSONObject] = []
    for version in shown:
        call_id, template, exact = _template(conn, name, version, project)
        item = _version(version)
        item.update(first_call_id=call_id, template=template, exact=exact)
        if previous is None:
            item.update(diff=None, changed=[])
        else:
            old, new = f"v{version.number - 1}", f"v{version.number}"
            item["diff"] = diff_templates(previous, template, old, new)
            item["changed"] = [*changed_keys(previous, template)]
        out.append(item)
        previous = template
    return out


def _template(
    conn: Connection, name: str, version: store.PromptVersion, project: str | None
) -> tuple[str | None, JSONObject, bool]:
    first = store.first_call(conn, name, version.digest, project)
    if first is None:  # deleted between the two reads
        return None, {}, False
    endpoint = create_op_endpoint(first.op_name) or Endpoint.OTHER
    template = prompt_template(endpoint, first.inputs)
    return first.id, template, prompt_digest(endpoint, first.inputs) == version.digest


def _version(v: store.PromptVersion) -> JSONObject:
    return {
        "digest": v.digest,
        "version": v.number,
        "first_seen": v.first_seen.isoformat(),
        "last_seen": v.last_seen.isoformat(),
        "calls": v.calls,
    }


def _family(f: store.PromptFamily) -> JSONObject:
    return {
        "name": f.name,
        "calls": f.calls,
        "first_seen": f.first_seen.isoformat(),
        "last_seen": f.last_seen.isoformat(),
        "versions": [_version(v) for v in f.versions],
    }


def _check(query: Mapping[str, str], allowed: tuple[str, ...]) -> None:
    for param in query:
        if param not in allowed:
            raise BadParameter(param, f"unknown parameter {param!r}; allowed: {', '.join(allowed)}")


def _limit(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    try:
        limit = int(value)
    except ValueError:
        raise BadParameter("limit", f"limit must be a whole number, got {value!r}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise BadParameter("limit", f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    return limit


_TIME = Field(json_schema_extra={"format": "date-time"})


class PromptVersionSummary(Closed):
    digest: str = Field(description="prompt_digest: 16 hex digits")
    version: int = Field(description="1, 2, ... in the order first seen within the family")
    first_seen: str = _TIME
    last_seen: str = _TIME
    calls: int


class PromptFamily(Closed):
    name: str = Field(description="display_name (Wiretrace-Name), else <op_name>/<model>")
    calls: int
    first_seen: str = _TIME
    last_seen: str = _TIME
    versions: list[PromptVersionSummary]


class PromptList(Closed):
    prompts: list[PromptFamily]


class PromptVersion(PromptVersionSummary):
    first_call_id: str | None
    template: dict[str, JsonValue] = Field(description="the digested parts of the first call")
    exact: bool = Field(description="the rebuilt template still digests to this version")
    diff: str | None = Field(description="unified diff against the previous version")
    changed: list[str] = Field(description="template parts that differ from the previous one")


class PromptVersionList(Closed):
    name: str
    versions: list[PromptVersion]


_PROJECT = query("project", {"type": "string"}, "only this project")
_LIMIT = query(
    "limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}, "at most this many"
)
_REF = "#/components/schemas/{}"

OPENAPI_SCHEMAS = component_schemas((PromptList, PromptVersionList))
OPENAPI_PATHS: dict[str, dict[str, JSONObject]] = {
    "/api/prompts": {
        "get": operation(
            "Prompt families (calls sharing a name) and their versions, newest family first",
            ok={"$ref": _REF.format("PromptList")},
            parameters=[_PROJECT, _LIMIT],
        )
    },
    "/api/prompts/versions": {
        "get": operation(
            "A family's newest versions, oldest first, each with its template and a diff",
            ok={"$ref": _REF.format("PromptVersionList")},
            errors=(400, 404),
            parameters=[
                query(
                    "name",
                    {"type": "string", "minLength": 1},
                    "a name from /api/prompts",
                    required=True,
                ),
                _PROJECT,
                _LIMIT,
            ],
        )
    },
}
