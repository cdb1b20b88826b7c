"""``/api/prompts`` and ``/api/prompts/versions``: prompt versions inferred
from traffic, with a diff between consecutive versions.

Calls are built here (``prompt_digest`` set with ``prompts.prompt_digest``, as the recorder
will) and inserted with ``storage.writes.insert_records`` into a running app's database.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from wiretrace_proxy.api.prompts import PromptList, PromptVersionList
from wiretrace_proxy.appkeys import ENGINE
from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.endpoints import Endpoint, create_op_endpoint
from wiretrace_proxy.record.prompts import prompt_digest
from wiretrace_proxy.storage import writes

from tests.harness import Servers

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CHAT_OP = "openai.chat.completions.create"
V1 = "You are helpful."
V2 = "You are helpful and brief."
ODD = "it's 100% «ok» _%"
"""A display name with SQL metacharacters and non-ASCII: it must match literally."""


def call(n: int, system: str, *, op: str = CHAT_OP, **changes: Any) -> CallRecord:
    inputs: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "temperature": 0.2,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": f"q{n}"}],
    }
    if op == "openai.responses.create":
        inputs = {"model": "o3", "instructions": system, "input": f"q{n}"}
    inputs.update(changes.pop("request", {}))
    rec = CallRecord(
        id=f"{n:016x}",
        project="p",
        trace_id=f"{n:032x}",
        parent_id=None,
        op_name=op,
        display_name=None,
        started_at=T0 + timedelta(minutes=n),
        ended_at=None,
        latency_ms=100.0,
        ttft_ms=None,
        overhead_ms=None,
        status="ok",
        http_status=200,
        model=inputs["model"],
        response_model=None,
        inputs=inputs,
        output={},
        usage=None,
        usage_source=None,
        cost_usd=None,
        error=None,
        prompt_digest=prompt_digest(create_op_endpoint(op) or Endpoint.OTHER, inputs),
    )
    return dataclasses.replace(rec, **changes)


def seed(servers: Servers, records: list[CallRecord]) -> None:
    with servers.app[ENGINE].begin() as conn:
        writes.insert_records(conn, records)


async def get(servers: Servers, path: str, **params: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session:
        async with session.get(servers.proxy_url + path, params=params) as resp:
            return resp.status, await resp.json()


@pytest.fixture
def seeded(servers: Servers) -> Servers:
    bot = {"display_name": "support-bot"}
    seed(
        servers,
        [
            call(0, V1, **bot),
            call(1, V1, **bot),
            call(2, V1, **bot),
            call(3, V2, **bot),
            call(4, V2, **bot),
            call(5, V1, **bot),  # a rollback: still version 1
            call(6, "unnamed app"),
            call(7, "Be exact.", op="openai.responses.create"),
            call(8, V1, display_name="support-bot", project="other"),
            call(9, V1, display_name=ODD),
            dataclasses.replace(call(10, V1), kind="op", op_name="my_op", prompt_digest=None),
        ],
    )
    return servers


async def test_families_list_versions_in_order_first_seen(seeded: Servers) -> None:
    status, body = await get(seeded, "/api/prompts")
    assert status == 200
    PromptList.model_validate(body)
    families = {f["name"]: f for f in body["prompts"]}
    assert set(families) == {
        "support-bot",
        f"{CHAT_OP}/gpt-4o-mini",
        "openai.responses.create/o3",
        ODD,
    }
    bot = families["support-bot"]
    assert bot["calls"] == 7  # both projects
    assert [f["name"] for f in body["prompts"]][0] == ODD  # most recently used first
    versions = bot["versions"]
    assert [(v["version"], v["calls"]) for v in versions] == [(1, 5), (2, 2)]
    assert versions[0]["first_seen"] == T0.isoformat()
    assert versions[0]["last_seen"] == (T0 + timedelta(minutes=8)).isoformat()
    assert versions[1]["first_seen"] == (T0 + timedelta(minutes=3)).isoformat()
    assert versions[0]["digest"] == call(0, V1).prompt_digest


async def test_project_filter(seeded: Servers) -> None:
    _, body = await get(seeded, "/api/prompts", project="other")
    assert [(f["name"], f["calls"]) for f in body["prompts"]] == [("support-bot", 1)]
    _, body = await get(seeded, "/api/prompts", limit="1")
    assert len(body["prompts"]) == 1


async def test_versions_carry_template_and_diff(seeded: Servers) -> None:
    status, body = await get(seeded, "/api/prompts/versions", name="support-bot", project="p")
    assert status == 200
    PromptVersionList.model_validate(body)
    first, second = body["versions"]
    assert (first["version"], first["calls"], second["calls"]) == (1, 4, 2)
    assert first["template"] == {
        "endpoint": "chat.completions",
        "messages": [{"role": "system", "content": V1}],
        "params": {"model": "gpt-4o-mini", "temperature": 0.2},
    }
    assert first["first_call_id"] == f"{0:016x}" and first["exact"] is True
    assert (first["diff"], first["changed"]) == (None, [])
    assert second["changed"] == ["messages"]
    assert second["diff"].startswith("--- v1\n+++ v2\n")
    assert f'-      "content": "{V1}",\n' in second["diff"]
    assert f'+      "content": "{V2}",\n' in second["diff"]


async def test_limit_keeps_the_newest_versions_and_their_diff(seeded: Servers) -> None:
    _, body = await get(seeded, "/api/prompts/versions", name="support-bot", limit="1")
    (only,) = body["versions"]
    assert only["version"] == 2 and only["changed"] == ["messages"]


async def test_unnamed_calls_form_op_and_model_families(seeded: Servers) -> None:
    _, body = await get(seeded, "/api/prompts/versions", name="openai.responses.create/o3")
    (version,) = body["versions"]
    assert version["template"]["instructions"] == "Be exact."
    _, body = await get(seeded, "/api/prompts/versions", name=ODD)
    assert body["name"] == ODD and len(body["versions"]) == 1


async def test_template_no_longer_matching_its_digest_is_flagged(servers: Servers) -> None:
    redacted = call(0, V1, display_name="r")
    redacted.inputs = {"model": "gpt-4o-mini", "temperature": 0.2, "messages": "[redacted]"}
    seed(servers, [redacted])
    _, body = await get(servers, "/api/prompts/versions", name="r")
    assert body["versions"][0]["exact"] is False


@pytest.mark.parametrize(
    ("path", "params", "status", "param"),
    [
        ("/api/prompts/versions", {}, 400, "name"),
        ("/api/prompts/versions", {"name": "support-bot", "sort": "x"}, 400, "sort"),
        ("/api/prompts/versions", {"name": "support-bot", "limit": "0"}, 400, "limit"),
        ("/api/prompts", {"limit": "many"}, 400, "limit"),
        ("/api/prompts", {"model": "x"}, 400, "model"),
        ("/api/prompts/versions", {"name": "nope"}, 404, None),
        ("/api/prompts/versions", {"name": "support-bot", "project": "none"}, 404, None),
    ],
)
async def test_bad_parameters(
    seeded: Servers, path: str, params: dict[str, str], status: int, param: str | None
) -> None:
    got, body = await get(seeded, path, **params)
    assert got == status and body["error"]["param"] == param and body["error"]["message"]


async def test_empty_database(servers: Servers) -> None:
    assert await get(servers, "/api/prompts") == (200, {"prompts": []})


async def test_openapi_documents_the_endpoints(servers: Servers) -> None:
    _, doc = await get(servers, "/api/openapi.json")
    assert {"/api/prompts", "/api/prompts/versions", "/api/pricing/unknown"} <= set(doc["paths"])
    assert {"PromptList", "PromptVersionList", "UnknownModelList"} <= set(
        doc["components"]["schemas"]
    )
