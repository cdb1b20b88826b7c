"""``POST /api/datasets/from-calls``: recorded calls become rows holding the exact requests.

Calls are made with the real ``openai`` SDK through the proxy; the dataset made from them
has one row per call, oldest first, whose ``inputs`` re-serialised the way the SDK
serialises a body (``json.dumps(..., ensure_ascii=False, separators=(",", ":"))``) are the
bytes the upstream received, on both databases (PostgreSQL's ``JSONB`` sorts the keys of
calls' bodies; their order is kept beside them).
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.harness import Servers
from tests.proxy.evaluations.client import call, ok

pytestmark = pytest.mark.both_databases

KEY = "sk-test-fromcalls-0000000000000000000001"
TOOLS: Any = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Find a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


def replayed(inputs: Any) -> bytes:
    """A row's inputs serialised as the ``openai`` SDK serialises a request body."""
    return json.dumps(inputs, ensure_ascii=False, separators=(",", ":")).encode()


def test_rows_made_from_calls_hold_the_exact_request_bodies(servers: Servers) -> None:
    client = openai.OpenAI(
        api_key=KEY,
        base_url=servers.base_url,
        max_retries=0,
        default_headers={"Wiretrace-Session-Id": "to-dataset"},
    )
    sent: list[Any] = [
        client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "Réponds en français 🇫🇷"},
                {"role": "user", "content": "Où est Zürich ?"},
            ],
            temperature=0.2,
            tools=TOOLS,
        ),
        client.chat.completions.with_raw_response.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": 'quote " and \\ slash'}],
            max_tokens=5,
            seed=7,
        ),  # fmt: skip
        client.responses.with_raw_response.create(model="gpt-4o-mini", input="say hi"),
    ]
    ids = [raw.headers["wiretrace-call-id"] for raw in sent]
    other = openai.OpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    other.chat.completions.create(  # not in the session: not in the dataset
        model="gpt-4o-mini", messages=[{"role": "user", "content": "elsewhere"}]
    )
    servers.flush()
    bodies = [s.body for s in servers.fake.seen[:3]]

    made = ok(servers.proxy_url, "POST", "/api/datasets/from-calls",
              {"name": "replay-me", "session_id": "to-dataset"})  # fmt: skip
    assert made["row_count"] == 3 and made["name"] == "replay-me"
    rows = ok(servers.proxy_url, "GET", "/api/datasets/replay-me/rows")["rows"]
    assert [r["values"]["source_call_id"] for r in rows] == ids  # oldest first
    for row, body, call_id in zip(rows, bodies, ids, strict=True):
        values = row["values"]
        record = servers.record(call_id)
        assert values["reference_output"] == record.output
        assert values["model"] == record.model and values["op_name"] == record.op_name
        assert values["endpoint"] in ("/v1/chat/completions", "/v1/responses")
        assert replayed(values["inputs"]) == body

    detail = ok(servers.proxy_url, "GET", "/api/datasets/replay-me")
    source = detail["versions"][0]["source"]
    assert source["kind"] == "calls" and source["filters"]["session_id"] == "to-dataset"
    again = call(servers.proxy_url, "POST", "/api/datasets/from-calls",
                 {"name": "replay-me", "session_id": "to-dataset"})  # fmt: skip
    assert again == (200, made)  # the same calls: the same version


def test_from_calls_takes_the_newest_calls_up_to_limit(servers: Servers) -> None:
    client = openai.OpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    ids = [
        client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"n{i}"}]
        ).headers["wiretrace-call-id"]
        for i in range(4)
    ]
    servers.flush()
    ok(servers.proxy_url, "POST", "/api/datasets/from-calls", {"name": "last2", "limit": 2})
    rows = ok(servers.proxy_url, "GET", "/api/datasets/last2/rows")["rows"]
    assert [r["values"]["source_call_id"] for r in rows] == ids[2:]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"name": "x", "colour": "red"}, "colour"),
        ({"name": "x", "status": "sleeping"}, "status"),
        ({"name": "x", "min_latency_ms": "fast"}, "min_latency_ms"),
        ({"name": "x", "model": ["a"]}, "model"),
        ({"name": "x", "limit": 0}, "limit"),
        ({"session_id": "s"}, "name"),
    ],
)
def test_a_bad_filter_is_a_400_naming_it(servers: Servers, body: Any, param: str) -> None:
    status, answer = call(servers.proxy_url, "POST", "/api/datasets/from-calls", body)
    assert status == 400 and answer["error"]["param"] == param, answer


@pytest.mark.parametrize(
    "body",
    [
        {"name": "typed", "min_latency_ms": 0, "roots_only": False, "status": "ok"},
        {"name": "typed", "max_cost": 1.5, "property.env": "prod", "since": "2000-01-01T00:00:00Z"},
    ],
)
def test_filters_take_their_documented_json_types(servers: Servers, body: Any) -> None:
    status, answer = call(servers.proxy_url, "POST", "/api/datasets/from-calls", body)
    assert status in (200, 201) and answer["row_count"] == 0, answer


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"name": "x", "property.env": False}, "property.env"),
        ({"name": "x", "roots_only": "yes"}, "roots_only"),
        ({"name": "x", "min_latency_ms": True}, "min_latency_ms"),
        ({"name": "x", "model": 4}, "model"),
        ({"name": "x", "until": ""}, "until"),
    ],
)
def test_a_filter_of_another_json_type_is_a_400(servers: Servers, body: Any, param: str) -> None:
    status, answer = call(servers.proxy_url, "POST", "/api/datasets/from-calls", body)
    assert status == 400 and answer["error"]["param"] == param, answer
