"""``GET /api/compare`` and the structured diff behind it (``wiretrace_proxy.api.comparison``)."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta
from typing import Any

import aiohttp
import openai
import pytest
from wiretrace_proxy.api.comparison import LEAF_LIST, compare_records
from wiretrace_proxy.callrecord import CallRecord, Usage

from tests.harness import Servers
from tests.proxy import seed

KEY = "sk-test-compare-000000000000000000001234"


def _record(**changes: Any) -> CallRecord:
    base = seed.make_record(
        random.Random(1),
        started_at=seed.BASE,
        trace_id="a" * 32,
        parent_id=None,
        kind="llm",
        index=1,
    )
    return dataclasses.replace(base, **changes)


def _fields(records: list[CallRecord]) -> dict[tuple[str, str], dict[str, Any]]:
    api: Any = compare_records(records).to_api()
    return {(f["section"], f["path"]): f for f in api["fields"]}


def test_identical_calls_differ_nowhere() -> None:
    a = _record()
    api = compare_records([a, dataclasses.replace(a, id="b" * 16)]).to_api()
    assert api["differing_fields"] == 0 and api["differing_sections"] == []
    assert api["truncated"] is False


def test_prompt_parameters_output_and_metrics_are_told_apart() -> None:
    system_v1 = {"role": "system", "content": "Summarise in one line."}
    system_v2 = {"role": "system", "content": "Summarise in three bullet points."}
    user = {"role": "user", "content": "A long article"}
    a = _record(
        inputs={"model": "gpt-4o", "messages": [system_v1, user], "temperature": 0.2},
        output={"choices": [{"message": {"role": "assistant", "content": "One line."}}]},
        latency_ms=100.0,
        usage=Usage(10, 5, 15, 0, None),
    )
    b = _record(
        id="b" * 16,
        inputs={"model": "gpt-4o", "messages": [system_v2, user], "temperature": 0.7},
        output={"choices": [{"message": {"role": "assistant", "content": "- one\n- two"}}]},
        latency_ms=250.0,
        usage=Usage(12, 9, 21, 0, None),
    )
    fields = _fields([a, b])
    assert fields[("inputs", "inputs.messages[0].content")]["values"] == [
        system_v1["content"],
        system_v2["content"],
    ]
    assert fields[("inputs", "inputs.messages[0].content")]["same"] is False
    assert fields[("inputs", "inputs.messages[1].content")]["same"] is True
    assert fields[("parameters", "inputs.temperature")]["values"] == [0.2, 0.7]
    assert fields[("parameters", "inputs.model")]["same"] is True
    content = fields[("output", "output.choices[0].message.content")]
    assert content["same"] is False and content["values"] == ["One line.", "- one\n- two"]
    assert fields[("metrics", "latency_ms")]["values"] == [100.0, 250.0]
    assert fields[("metrics", "usage.total_tokens")]["values"] == [15, 21]
    api = compare_records([a, b]).to_api()
    assert api["differing_sections"] == ["metrics", "parameters", "inputs", "output"]


def test_a_field_only_one_call_has_is_null_for_the_others() -> None:
    a = _record(inputs={"model": "m", "messages": [], "tools": [{"type": "function"}]})
    b = _record(id="b" * 16, inputs={"model": "m", "messages": []})
    c = _record(id="c" * 16, inputs={"model": "m", "messages": [], "seed": 3})
    fields = _fields([a, b, c])
    assert fields[("inputs", "inputs.tools[0].type")]["values"] == ["function", None, None]
    assert fields[("parameters", "inputs.seed")]["values"] == [None, None, 3]
    assert fields[("parameters", "inputs.seed")]["same"] is False


def test_json_types_are_not_conflated() -> None:
    a = _record(inputs={"model": "m", "n": 1})
    b = _record(id="b" * 16, inputs={"model": "m", "n": 1.0})
    c = _record(id="c" * 16, inputs={"model": "m", "n": True})
    assert _fields([a, b])[("parameters", "inputs.n")]["same"] is False
    assert _fields([a, c])[("parameters", "inputs.n")]["same"] is False


def test_long_scalar_lists_stay_one_field() -> None:
    vector = [0.5] * (LEAF_LIST + 1)
    a = _record(output={"data": [{"embedding": vector}]})
    b = _record(id="b" * 16, output={"data": [{"embedding": [*vector[:-1], 0.25]}]})
    fields = _fields([a, b])
    assert fields[("output", "output.data[0].embedding")]["same"] is False
    assert not any(path.startswith("output.data[0].embedding[") for _, path in fields)


def test_sdk_op_arguments_are_inputs() -> None:
    a = _record(kind="op", op_name="summarize", inputs={"text": "x", "style": "short"})
    b = _record(id="b" * 16, kind="op", op_name="summarize", inputs={"text": "x", "style": "long"})
    fields = _fields([a, b])
    assert fields[("inputs", "inputs.style")]["same"] is False
    assert fields[("inputs", "inputs.text")]["same"] is True


@pytest.fixture
def two_versions(servers: Servers) -> tuple[Servers, list[str]]:
    client = openai.OpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    ids = []
    for system in ("Summarise: v1 <script>alert(1)</script>", "Summarise: v2, in bullets"):
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=[{"role": "system", "content": system}, {"role": "user", "content": "doc"}],
        )
        ids.append(raw.headers["wiretrace-call-id"])
    servers.flush()
    return servers, ids


async def _get(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as resp:
            return resp.status, await resp.json()


async def test_compare_two_proxied_calls(two_versions: tuple[Servers, list[str]]) -> None:
    servers, ids = two_versions
    status, body = await _get(f"{servers.proxy_url}/api/compare?ids={ids[1]},{ids[0]}")
    assert status == 200
    assert [c["id"] for c in body["calls"]] == [ids[1], ids[0]]
    assert all(c["feedback"] is None for c in body["calls"])
    by_path = {f["path"]: f for f in body["fields"]}
    system = by_path["inputs.messages[0].content"]
    assert system["section"] == "inputs" and system["same"] is False
    assert system["values"] == [
        "Summarise: v2, in bullets",
        "Summarise: v1 <script>alert(1)</script>",
    ]
    assert by_path["inputs.messages[1].content"]["same"] is True
    assert by_path["model"]["same"] is True
    assert by_path["prompt_digest"]["same"] is False  # two prompt versions
    assert "inputs" in body["differing_sections"]


@pytest.mark.parametrize(
    ("query", "status", "fragment"),
    [
        ("", 400, "2 to 4"),
        ("ids=only", 400, "got 1"),
        ("ids=a,b,c,d,e", 400, "got 5"),
        ("ids=a,a", 400, "repeat"),
        ("ids=0000000000000001,0000000000000002", 404, "0000000000000001"),
    ],
)
async def test_bad_ids(servers: Servers, query: str, status: int, fragment: str) -> None:
    got, body = await _get(f"{servers.proxy_url}/api/compare?{query}")
    assert got == status and fragment in body["error"]["message"]
    if status == 400:
        assert body["error"]["param"] == "ids"


async def test_repeated_ids_parameters_work_too(two_versions: tuple[Servers, list[str]]) -> None:
    servers, ids = two_versions
    status, body = await _get(f"{servers.proxy_url}/api/compare?ids={ids[0]}&ids={ids[1]}")
    assert status == 200 and [c["id"] for c in body["calls"]] == ids


def test_started_at_does_not_count_as_a_difference() -> None:
    a = _record()
    b = dataclasses.replace(a, id="b" * 16, started_at=a.started_at + timedelta(days=1))
    assert compare_records([a, b]).to_api()["differing_fields"] == 0
