"""Real instrumentations of ``openai`` (openai-v2, OpenInference, OpenLLMetry) exporting over
OTLP/HTTP to wiretrace, with and without the proxy in the call's path.

Through the proxy, each call is one LLM record: the proxied call (its id is the
``Wiretrace-Call-Id`` the app got, its usage the wire's) in the app's trace, under the
app's span, named like the instrumentation's span; ``/api/stats`` counts it once. Without
the proxy, the spans alone give the call's model, usage, messages and cost.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.harness import Servers
from tests.proxy.otlp.peers import PEERS, run_peer


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.mark.parametrize("peer", PEERS)
def test_a_proxied_instrumented_call_is_one_record_in_the_apps_trace(
    servers: Servers, peer: str
) -> None:
    endpoint = servers.proxy_url + "/otlp/v1/traces"
    app = run_peer(peer, endpoint, servers.base_url, "shop", f"hi {peer}")

    records = servers.records(trace_id=app["trace_id"])
    llm = [r for r in records if r.kind == "llm"]
    assert len(llm) == 1, [(r.id, r.kind, r.op_name) for r in records]
    call = llm[0]
    assert call.id == app["call_id"]  # the proxied call's identity
    assert call.parent_id == app["root_id"]  # the instrumentation's parent
    assert call.project == "shop"  # the app's service.name
    assert call.usage is not None
    assert call.usage.prompt_tokens == app["prompt_tokens"]  # the wire's usage
    assert call.usage.completion_tokens == app["completion_tokens"]
    assert call.usage_source == "upstream" and call.cost_usd is not None
    assert "wiretrace.source" not in call.attributes  # it is the proxied call
    otel: Any = call.attributes["otel"]
    assert otel["name"] == call.display_name and otel["span_id"] != call.id
    assert [r.op_name for r in records if r.kind != "llm"] == ["handle_request"]

    stats = get_json(f"{servers.proxy_url}/api/stats?group_by=model")
    assert stats["totals"]["calls"] == 2  # the app's span and the one call
    assert [g["calls"] for g in stats["groups"] if g["key"] == "gpt-4o-mini"] == [1]
    tree = get_json(f"{servers.proxy_url}/api/traces/{app['trace_id']}")
    assert app["call_id"] in json.dumps(tree)


@pytest.mark.parametrize("peer", PEERS)
def test_spans_alone_give_model_usage_messages_and_cost(servers: Servers, peer: str) -> None:
    endpoint = servers.proxy_url + "/otlp/v1/traces"
    app = run_peer(peer, endpoint, servers.upstream_url + "/v1", "direct", "What is OTLP?")

    records = servers.records(trace_id=app["trace_id"])
    llm = [r for r in records if r.kind == "llm"]
    assert len(llm) == 1 and len(records) == 2
    span: Any = llm[0]
    assert app["call_id"] is None  # the proxy was not in the call's path
    assert span.attributes["wiretrace.source"] == "otlp"
    assert span.parent_id == app["root_id"]
    assert span.project == "direct"
    assert span.model in ("gpt-4o-mini", "gpt-4o-mini-2024-07-18")
    assert span.response_model == "gpt-4o-mini-2024-07-18"
    assert span.usage.prompt_tokens == app["prompt_tokens"]
    assert span.usage.completion_tokens == app["completion_tokens"]
    assert span.cost_usd is not None and span.cost_usd > 0
    messages = span.inputs["messages"]
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "What is OTLP?" in json.dumps(messages)
    choice = span.output["choices"][0]
    assert choice["message"]["content"] == app["content"]
    assert choice["finish_reason"] == "stop"


def test_an_instrumentation_that_records_no_response_id_is_folded_by_likeness(
    tmp_path: Path,
) -> None:
    """OpenInference with its outputs hidden gives no response id, and it sends no
    ``traceparent``: its span and the proxied call are paired by model, time and tokens
    (the calls filed under the app's ``service.name``, so the projects agree)."""
    servers = Servers(f"sqlite:///{tmp_path / 'w.db'}", key_salt="s", project="shop")
    try:
        endpoint = servers.proxy_url + "/otlp/v1/traces"
        env = {"OPENINFERENCE_HIDE_OUTPUTS": "true"}
        app = run_peer("openinference", endpoint, servers.base_url, "shop", "hi", **env)
        records = servers.records(trace_id=app["trace_id"])
        [call] = [r for r in records if r.kind == "llm"]
        assert call.id == app["call_id"] and call.parent_id == app["root_id"]
        otel: Any = call.attributes["otel"]
        assert otel["merged_by"] == "heuristic" and "response_id" not in otel
        assert call.usage is not None and call.usage.prompt_tokens == app["prompt_tokens"]
        assert call.output is not None  # the wire's answer, which the span hid
        stats = get_json(f"{servers.proxy_url}/api/stats?group_by=model")
        assert stats["totals"]["calls"] == len(servers.records()) == 2
    finally:
        servers.close()
