"""``GET /api/stats``: counts, errors, tokens, cost and latency percentiles per group.

Takes every filter of ``storage/filters.py`` (so ``trace_id=...&group_by=model`` is the
per-model breakdown of one trace) plus ``group_by``, ``sort``, ``limit`` and ``exact``.
``storage/stats.py`` does the work on a worker thread; this module only parses, answers
400s that name the parameter and what is allowed, and documents the shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aiohttp import web
from multidict import MultiMapping
from sqlalchemy.engine import Connection

from wiretrace_proxy.api import schemas
from wiretrace_proxy.api.errors import BadParameter, bad_request
from wiretrace_proxy.api.jsonio import dumps
from wiretrace_proxy.api.openapi import FILTER_DESCRIPTION, FILTER_PARAMETERS, operation, query
from wiretrace_proxy.api.reads import read
from wiretrace_proxy.appkeys import ENGINE
from wiretrace_proxy.callrecord import JSONObject
from wiretrace_proxy.storage.filters import CallFilter, FilterError, parse_filters, parse_flag
from wiretrace_proxy.storage.stats import GROUP_KEYS, SORTS, compute_stats

PARAMS = ("group_by", "sort", "limit", "exact")
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
ALLOWED_GROUPS = (*GROUP_KEYS, "property.<name>")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/api/stats", get_stats)


@dataclass(frozen=True, slots=True)
class StatsRequest:
    group_by: str
    filters: CallFilter
    sort: str
    limit: int
    exact: bool


def parse_request(params: MultiMapping[str]) -> StatsRequest:
    """The request's parameters, or ``FilterError`` naming the first one that is wrong."""
    for name in PARAMS:
        if len(params.getall(name, ())) > 1:
            raise FilterError(name, f"{name} may be given once")
    filters = parse_filters(params, extra=PARAMS)
    group_by = params.get("group_by", "")
    name = group_by.removeprefix("property.")
    if group_by not in GROUP_KEYS and not (group_by.startswith("property.") and name):
        got = f"; got {group_by!r}" if group_by else " (it is required)"
        raise FilterError("group_by", f"group_by must be one of {', '.join(ALLOWED_GROUPS)}{got}")
    sort = params.get("sort", "calls")
    if sort not in SORTS:
        raise FilterError("sort", f"sort must be one of {', '.join(SORTS)}; got {sort!r}")
    return StatsRequest(
        group_by=group_by,
        filters=filters,
        sort=sort,
        limit=_limit(params.get("limit")),
        exact=parse_flag("exact", params.get("exact")),
    )


def _limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise FilterError("limit", f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(value)


async def get_stats(request: web.Request) -> web.Response:
    try:
        req = parse_request(request.query)
    except FilterError as exc:
        return bad_request(BadParameter(exc.param, str(exc)))

    def run(conn: Connection) -> JSONObject:
        stats = compute_stats(
            conn, req.group_by, req.filters, sort=req.sort, limit=req.limit, exact=req.exact
        )
        return stats.to_api()

    return web.json_response(await read(request.app[ENGINE], run), dumps=dumps)


class StatsLatency(schemas.Closed):
    p50: float | None
    p95: float | None
    p99: float | None


class StatsTtft(schemas.Closed):
    p50: float | None


class StatsTotals(schemas.Closed):
    """Sums over the calls of a group (or of all matching calls, for ``totals``)."""

    calls: int
    errors: int
    error_rate: float | None
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    cost_usd: float | None
    """Sum of known costs; null when no call of the group has one."""
    calls_without_cost: int
    latency_ms: StatsLatency
    ttft_ms: StatsTtft


class StatsGroup(StatsTotals):
    key: str | None
    """The group's value: a model, a day ``YYYY-MM-DD``, an hour ``YYYY-MM-DDTHH:00:00Z``..."""


class Stats(schemas.Closed):
    """``GET /api/stats``: groups sorted and limited, totals over every matching call."""

    group_by: str
    groups: list[StatsGroup]
    totals: StatsTotals
    group_count: int
    """Groups before ``limit``."""
    percentiles: Literal["exact", "approximate"]
    """``approximate``: read from the hourly rollups' histograms, within 9.05% of exact."""


OPENAPI_SCHEMAS: dict[str, JSONObject] = schemas.component_schemas((Stats,))

OPENAPI_PATHS: dict[str, dict[str, JSONObject]] = {
    "/api/stats": {
        "get": operation(
            "Calls, errors, tokens, cost and latency percentiles per group",
            ok=schemas.ref(Stats),
            parameters=[
                query(
                    "group_by",
                    {
                        "anyOf": [
                            {"type": "string", "enum": list(GROUP_KEYS)},
                            {"type": "string", "pattern": "^property\\..+$"},
                        ]
                    },
                    f"one of {', '.join(ALLOWED_GROUPS)}; days and hours are UTC",
                    required=True,
                ),
                query("sort", {"type": "string", "enum": list(SORTS)}, "key ascending, else desc"),
                query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}, "groups"),
                query(
                    "exact",
                    {"type": "boolean"},
                    "always read calls (exact percentiles), never the rollups",
                ),
                *FILTER_PARAMETERS,
            ],
            description=(
                "Counts, tokens and cost are always exact. Percentiles interpolate between "
                "ranks (like percentile_cont); on a large SQLite database, questions the "
                "hourly rollups can answer read their histograms instead (`percentiles`: "
                "`approximate`, within 9.05%). " + FILTER_DESCRIPTION
            ),
        )
    }
}
