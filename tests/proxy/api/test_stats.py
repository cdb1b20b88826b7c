"""``/api/stats``: every group key against a Python reading of a seeded database, the
rollups (exact sums, percentiles within a bucket) kept in step by the writer and triggers,
and 400s."""

from __future__ import annotations

import dataclasses
import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from wiretrace_proxy.appkeys import ENGINE
from wiretrace_proxy.callrecord import JSON, USAGE_KEYS, CallRecord
from wiretrace_proxy.storage import rollups
from wiretrace_proxy.storage.engine import create_engine_for
from wiretrace_proxy.storage.filters import parse_filters
from wiretrace_proxy.storage.migrate import upgrade_to_head
from wiretrace_proxy.storage.models import CALLS
from wiretrace_proxy.storage.stats import compute_stats
from wiretrace_proxy.storage.writes import upsert_records
from wiretrace_proxy.timestamps import parse_utc

from tests.harness import Servers
from tests.proxy import seed

RECORDS = seed.build()
HALF_BUCKET = 2 ** (1 / 8) - 1  # 9.05%: a percentile from a bucket lies in the exact one's


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'stats.db'}")
    upgrade_to_head(engine)
    seed.insert(engine, RECORDS)
    yield engine
    engine.dispose()


def ranks(values: list[float], p: float) -> tuple[float, float] | None:
    """The two values ``percentile_cont`` interpolates between."""
    if not values:
        return None
    ordered = sorted(values)
    rank = p * (len(ordered) - 1)
    return ordered[math.floor(rank)], ordered[math.ceil(rank)]


def percentile(values: list[float], p: float) -> float | None:
    """``percentile_cont``, written out independently."""
    if not values:
        return None
    ordered = sorted(values)
    rank = p * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def prop(record: CallRecord, name: str) -> JSON:
    properties: Any = record.attributes["properties"]
    value: JSON = properties.get(name)
    return value


KEYS: dict[str, Callable[[CallRecord], JSON]] = {
    "model": lambda r: r.model,
    "op_name": lambda r: r.op_name,
    "op_version": lambda r: r.op_version,
    "prompt_digest": lambda r: r.prompt_digest,
    "day": lambda r: r.started_at.strftime("%Y-%m-%d"),
    "hour": lambda r: r.started_at.strftime("%Y-%m-%dT%H:00:00Z"),
    "session_id": lambda r: r.session_id,
    "user_id": lambda r: r.user_id,
    "project": lambda r: r.project,
    "status": lambda r: r.status,
    "property.env": lambda r: prop(r, "env"),
    "property.feature": lambda r: prop(r, "feature"),
}


def expected(records: list[CallRecord], key: Callable[[CallRecord], JSON]) -> dict[JSON, Any]:
    groups: defaultdict[JSON, list[CallRecord]] = defaultdict(list)
    for record in records:
        groups[key(record)].append(record)
    out: dict[JSON, Any] = {}
    for name, members in groups.items():
        costs = [r.cost_usd for r in members if r.cost_usd is not None]
        latency = [r.latency_ms for r in members if r.latency_ms is not None]
        ttft = [r.ttft_ms for r in members if r.ttft_ms is not None]
        tokens = {k: sum(getattr(r.usage, k) or 0 for r in members if r.usage) for k in USAGE_KEYS}
        errors = sum(r.status == "error" for r in members)
        out[name] = {
            "calls": len(members),
            "errors": errors,
            "error_rate": errors / len(members),
            **tokens,
            "cost_usd": sum(costs) if costs else None,
            "calls_without_cost": len(members) - len(costs),
            "latency_ms": {p: percentile(latency, q) for p, q in PERCENTILES.items()},
            "ttft_ms": {"p50": percentile(ttft, 0.5)},
            "latency_ms_ranks": {p: ranks(latency, q) for p, q in PERCENTILES.items()},
            "ttft_ms_ranks": {"p50": ranks(ttft, 0.5)},
        }
    return out


PERCENTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}


def assert_group(got: dict[str, Any], want: dict[str, Any], approximate: bool = False) -> None:
    for name in ("calls", "errors", "calls_without_cost", *USAGE_KEYS):
        assert got[name] == want[name], name
    assert got["error_rate"] == pytest.approx(want["error_rate"])
    if want["cost_usd"] is None:
        assert got["cost_usd"] is None
    else:
        assert got["cost_usd"] == pytest.approx(want["cost_usd"], rel=1e-9)
    for metric in ("latency_ms", "ttft_ms"):
        for p, value in want[metric].items():
            if value is None:
                assert got[metric][p] is None, (metric, p)
            elif approximate:
                # between the buckets of the two ranks percentile_cont interpolates between
                low, high = want[f"{metric}_ranks"][p]
                assert low / (1 + HALF_BUCKET) <= got[metric][p] <= high * (1 + HALF_BUCKET)
            else:
                assert got[metric][p] == pytest.approx(value, rel=1e-9, abs=1e-3), (metric, p)


@pytest.mark.parametrize("group_by", list(KEYS))
def test_every_group_key_matches_a_python_reading(engine: Engine, group_by: str) -> None:
    with engine.connect() as conn:
        stats: Any = compute_stats(conn, group_by, parse_filters({}), limit=10_000).to_api()
    want = expected(RECORDS, KEYS[group_by])
    groups = {g["key"]: g for g in stats["groups"]}
    assert set(groups) == set(want) and stats["group_count"] == len(want)
    for key, group in want.items():
        assert_group(groups[key], group)
    assert stats["percentiles"] == "exact"
    assert_group(stats["totals"], expected(RECORDS, lambda r: None)[None])


def test_filters_narrow_the_calls_per_model_breakdown_of_one_trace(engine: Engine) -> None:
    trace = RECORDS[0].trace_id
    members = [r for r in RECORDS if r.trace_id == trace]
    with engine.connect() as conn:
        stats: Any = compute_stats(conn, "model", parse_filters({"trace_id": trace})).to_api()
    assert stats["totals"]["calls"] == len(members)
    want = expected(members, KEYS["model"])
    for group in stats["groups"]:
        assert_group(group, want[group["key"]])


def test_sort_and_limit(engine: Engine) -> None:
    with engine.connect() as conn:
        by_cost = compute_stats(conn, "model", parse_filters({}), sort="cost_usd", limit=2)
        by_key = compute_stats(conn, "day", parse_filters({}), sort="key")
    costs = [g.cost_usd for g in by_cost.groups]
    assert len(by_cost.groups) == 2 and costs == sorted(costs, reverse=True)
    assert by_cost.group_count == len({r.model for r in RECORDS})
    days = [str(g.key) for g in by_key.groups]
    assert days == sorted(days)


def _approximate(engine: Engine, group_by: str, **params: str) -> Any:
    with engine.connect() as conn:
        stats = compute_stats(conn, group_by, parse_filters(params), raw_limit=0, limit=10_000)
    api: Any = stats.to_api()
    return api


@pytest.mark.parametrize("group_by", ["model", "op_name", "op_version", "status", "day", "hour"])
def test_rollups_give_exact_sums_and_percentiles_within_a_bucket(
    engine: Engine, group_by: str
) -> None:
    stats = _approximate(engine, group_by)
    assert stats["percentiles"] == "approximate"
    want = expected(RECORDS, KEYS[group_by])
    groups = {g["key"]: g for g in stats["groups"]}
    assert set(groups) == set(want)
    for key, group in want.items():
        assert_group(groups[key], group, approximate=True)


def test_rollup_percentiles_of_many_calls_are_within_a_bucket_of_exact(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'dense.db'}")
    upgrade_to_head(engine)
    rng = random.Random(3)
    template = RECORDS[2]
    many = [
        dataclasses.replace(
            template,
            id=f"{n + 1:016x}",
            latency_ms=rng.lognormvariate(6, 1),
            ttft_ms=rng.lognormvariate(4, 0.5),
            status="ok",
        )
        for n in range(3000)
    ]
    seed.insert(engine, many)
    try:
        approx = _approximate(engine, "model")["totals"]
        with engine.connect() as conn:
            exact: Any = compute_stats(conn, "model", parse_filters({})).to_api()["totals"]
    finally:
        engine.dispose()
    for metric, p in [("latency_ms", "p50"), ("latency_ms", "p95"), ("latency_ms", "p99")]:
        assert approx[metric][p] == pytest.approx(exact[metric][p], rel=HALF_BUCKET)
    assert approx["ttft_ms"]["p50"] == pytest.approx(exact["ttft_ms"]["p50"], rel=HALF_BUCKET)


def test_rollups_refuse_questions_they_cannot_answer(engine: Engine) -> None:
    for group_by, params in [
        ("session_id", {}),
        ("model", {"q": "France"}),
        ("model", {"roots_only": "true"}),
    ]:
        assert _approximate(engine, group_by, **params)["percentiles"] == "exact"


RANGES = [
    {"since": "2026-01-06T00:00:00Z"},
    {"since": "2026-01-05T16:00:00Z", "until": "2026-01-08T09:00:00Z"},
    {"since": "2026-01-05T09:00:00.0015Z"},
    {"until": "2026-01-07T03:06:00.0005Z"},
    {"since": "2026-01-05T16:00:30Z", "until": "2026-01-07T03:06:00.0005Z"},
    {"since": "2026-01-06T06:03:00.0005Z", "until": "2026-01-06T06:30:00Z"},
    {"since": "2026-01-06T06:03:00.0015Z", "until": "2026-01-06T07:00:00Z"},
]
"""Whole hours, and ranges starting or ending inside an hour of calls (or inside one)."""


@pytest.mark.parametrize("group_by", ["hour", "day", "model"])
@pytest.mark.parametrize("params", RANGES, ids=lambda p: "-".join(p.values()))
def test_any_range_from_rollups_counts_exactly_the_calls_in_it(
    engine: Engine, group_by: str, params: dict[str, str]
) -> None:
    """Whole hours from the rollups, the partial hours at the edges from ``calls``."""
    stats = _approximate(engine, group_by, **params)
    assert stats["percentiles"] == "approximate"
    since = parse_utc(params.get("since", "2000-01-01T00:00:00Z"))
    until = parse_utc(params.get("until", "2100-01-01T00:00:00Z"))
    inside = [r for r in RECORDS if since <= r.started_at < until]
    assert 0 < len(inside) < len(RECORDS)
    want = expected(inside, KEYS[group_by])
    groups = {g["key"]: g for g in stats["groups"]}
    assert set(groups) == set(want)
    for key, group in want.items():
        assert_group(groups[key], group, approximate=True)
    assert_group(stats["totals"], expected(inside, lambda r: None)[None], approximate=True)


def _rollup_totals(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        totals: dict[str, Any] = _approximate(engine, "status")["totals"]
        return totals | {"rows": rollups.rollup_calls(conn)}


def test_triggers_keep_rollups_exact_on_update_and_delete(engine: Engine) -> None:
    running = next(r for r in RECORDS if r.status == "running")
    finished = dataclasses.replace(running, status="ok", latency_ms=123.0, cost_usd=0.5)
    with engine.begin() as conn:
        upsert_records(conn, [finished])
    records = [finished if r.id == running.id else r for r in RECORDS]
    assert_group(
        _approximate(engine, "status")["totals"],
        expected(records, lambda r: None)[None],
        approximate=True,
    )
    victim = records[0]
    with engine.begin() as conn:
        conn.execute(sa.delete(CALLS).where(CALLS.c.id == victim.id))
    records = records[1:]
    assert_group(
        _approximate(engine, "status")["totals"],
        expected(records, lambda r: None)[None],
        approximate=True,
    )
    assert _rollup_totals(engine)["rows"] == len(records)


def test_without_triggers_the_rollups_are_not_trusted(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TRIGGER calls_rollup_update"))
    assert _approximate(engine, "model")["percentiles"] == "exact"


async def _get(servers: Servers, query: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{servers.proxy_url}/api/stats?{query}") as resp:
            return resp.status, await resp.json()


async def test_api_returns_the_documented_shape(servers: Servers) -> None:
    seed.insert(servers.app[ENGINE], RECORDS)
    status, body = await _get(servers, "group_by=model&sort=calls&limit=3")
    assert status == 200
    assert set(body) == {"group_by", "groups", "totals", "group_count", "percentiles"}
    assert body["group_by"] == "model" and len(body["groups"]) == 3
    assert body["totals"]["calls"] == len(RECORDS)
    with servers.app[ENGINE].connect() as conn:
        direct = compute_stats(conn, "model", parse_filters({}), limit=3).to_api()
    assert body == direct


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("", "group_by"),
        ("group_by=colour", "group_by"),
        ("group_by=property.", "group_by"),
        ("group_by=model&sort=price", "sort"),
        ("group_by=model&limit=0", "limit"),
        ("group_by=model&exact=maybe", "exact"),
        ("group_by=model&status=weird", "status"),
        ("group_by=model&group_by=day", "group_by"),
        ("group_by=model&colour=red", "colour"),
    ],
)
async def test_bad_parameters_are_400s_naming_them(
    servers: Servers, query: str, param: str
) -> None:
    status, body = await _get(servers, query)
    assert status == 400 and body["error"]["param"] == param and body["error"]["message"]
