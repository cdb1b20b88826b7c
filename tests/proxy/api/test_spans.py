"""``POST /api/spans``, ``/api/traces/{id}``, ``/api/ops``: SDK spans linked to proxied calls."""

from __future__ import annotations

from typing import Any

import aiohttp
import openai
import pytest

from tests.harness import Servers

TRACE = "1234567890abcdef1234567890abcdef"


def span(
    span_id: str, parent: str | None, name: str, start: str, end: str | None, **kw: Any
) -> dict[str, Any]:
    return {
        "id": span_id,
        "trace_id": TRACE,
        "parent_id": parent,
        "project": None,
        "op_name": name,
        "display_name": None,
        "started_at": f"2026-01-01T00:00:{start}Z",
        "ended_at": f"2026-01-01T00:00:{end}Z" if end else None,
        "status": "ok" if end else "running",
        "inputs": {"x": 1},
        "output": "done" if end else None,
        "error": None,
        "attributes": {},
        "op_version": None,
        "model_version": None,
        **kw,
    }


async def post(url: str, body: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session:
        async with session.post(url + "/api/spans", json=body) as resp:
            return resp.status, await resp.json()


async def get(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as resp:
            return resp.status, await resp.json()


ROOT, CHILD, GRANDCHILD = "a" * 16, "b" * 16, "c" * 16


async def test_spans_in_any_order_build_one_tree(servers: Servers) -> None:
    url = servers.proxy_url
    # a child's end before anything of its parent; the root's end before its start
    assert (await post(url, {"spans": [span(CHILD, ROOT, "build_prompt", "01", "02")]}))[0] == 200
    assert (await post(url, {"spans": [span(ROOT, None, "generate", "00", "05")]}))[0] == 200
    status, body = await post(url, {"spans": [span(ROOT, None, "generate", "00", None)]})
    assert status == 200 and body == {"accepted": 1}
    await post(
        url,
        {
            "spans": [
                span(GRANDCHILD, CHILD, "lookup", "01.5", None),
                span(GRANDCHILD, CHILD, "lookup", "01.5", "01.8"),
            ]
        },
    )
    # a proxied call that names the root as its parent, through traceparent
    client = openai.AsyncOpenAI(api_key="sk-x", base_url=servers.base_url)
    await client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "hi"}],
        extra_headers={"traceparent": f"00-{TRACE}-{ROOT}-01"},
    )
    await client.close()
    import asyncio

    await asyncio.to_thread(servers.flush)
    status, tree = await get(f"{url}/api/traces/{TRACE}")
    assert status == 200
    (root,) = tree["roots"]
    assert root["id"] == ROOT and root["status"] == "ok" and root["output"] == "done"
    assert root["latency_ms"] == 5000
    names = [c["op_name"] for c in root["children"]]
    assert names == ["build_prompt", "openai.chat.completions.create"]  # ordered by start
    assert root["children"][0]["children"][0]["id"] == GRANDCHILD
    assert root["children"][0]["children"][0]["status"] == "ok"
    assert tree["summary"]["calls"] == 4 and tree["summary"]["llm_calls"] == 1


async def test_deep_trace(servers: Servers) -> None:
    ids = [f"{i:016x}" for i in range(1, 151)]
    spans = [span(ids[i], ids[i - 1] if i else None, f"level{i}", "00", "01") for i in range(150)]
    assert (await post(servers.proxy_url, {"spans": spans}))[0] == 200
    status, tree = await get(f"{servers.proxy_url}/api/traces/{TRACE}")
    assert status == 200
    depth, node = 0, tree["roots"][0]
    while node["children"]:
        node, depth = node["children"][0], depth + 1
    assert depth == 149


@pytest.mark.parametrize(
    ("mutate", "param"),
    [
        ({"id": "xyz"}, "spans[0].id"),
        ({"trace_id": "A" * 32}, "spans[0].trace_id"),
        ({"parent_id": 5}, "spans[0].parent_id"),
        ({"op_name": ""}, "spans[0].op_name"),
        ({"started_at": "yesterday"}, "spans[0].started_at"),
        ({"status": "maybe"}, "spans[0].status"),
        ({"op_version": {"source": "x"}}, "spans[0].op_version"),
    ],
)
async def test_bad_span_is_refused_naming_the_field(
    servers: Servers, mutate: dict[str, Any], param: str
) -> None:
    status, body = await post(
        servers.proxy_url, {"spans": [{**span(ROOT, None, "f", "00", "01"), **mutate}]}
    )
    assert status == 400 and body["error"]["param"] == param


async def test_not_json_and_wrong_shape(servers: Servers) -> None:
    async with aiohttp.ClientSession() as session:
        json_type = {"Content-Type": "application/json"}  # any other type is a 415
        async with session.post(
            servers.proxy_url + "/api/spans", data=b"{nope", headers=json_type
        ) as resp:
            assert resp.status == 400 and (await resp.json())["error"]["param"] == "body"
    status, body = await post(servers.proxy_url, [1, 2])
    assert status == 400 and body["error"]["param"] == "spans"


async def test_op_and_model_versions(servers: Servers) -> None:
    v1 = {"digest": "d1", "source": "def f():\n    return 1\n", "module": "app", "qualname": "f"}
    v2 = {"digest": "d2", "source": "def f():\n    return 2\n", "module": "app", "qualname": "f"}
    model = {
        "name": "Summarizer",
        "digest": "m1",
        "attributes": {"temperature": 0.2},
        "source": {"run": "def run(self): ..."},
    }
    spans = [
        span("1" * 16, None, "f", "00", "01", op_version=v1),
        span("2" * 16, None, "f", "02", "03", op_version=v1),
        span("3" * 16, None, "f", "04", "05", op_version=v2, model_version=model),
    ]
    assert (await post(servers.proxy_url, {"spans": spans}))[0] == 200
    _, ops = await get(servers.proxy_url + "/api/ops")
    (op,) = ops["ops"]
    assert op["name"] == "f" and op["versions"] == 2 and op["calls"] == 3
    _, listing = await get(servers.proxy_url + "/api/ops/f/versions")
    assert [(v["version"], v["digest"], v["calls"]) for v in listing["versions"]] == [
        (1, "d1", 2),
        (2, "d2", 1),
    ]
    assert listing["versions"][1]["source"] == v2["source"]
    _, models = await get(servers.proxy_url + "/api/models/Summarizer/versions")
    assert models["versions"][0]["attributes"] == {"temperature": 0.2}
    assert models["versions"][0]["calls"] == 1
    status, _ = await get(servers.proxy_url + "/api/ops/nope/versions")
    assert status == 404
    _, rec = await get(servers.proxy_url + "/api/calls/" + "3" * 16)
    assert rec["op_version"] == "d2" and rec["model_version"] == "m1" and rec["kind"] == "op"
