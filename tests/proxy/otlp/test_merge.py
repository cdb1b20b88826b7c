"""An ingested LLM span and the proxied call of the same request become one record, in
whichever order they arrive, and ``/api/stats`` counts the call once.

The pairs: the span's ``gen_ai.response.id`` is the id of the response the proxy relayed
(instrumentations that propagate no context), or the proxied call's parent is an HTTP
client span under the LLM span (``opentelemetry-instrument`` with httpx instrumented).
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from wiretrace_proxy.appkeys import ENGINE, WRITER
from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.forward import handler

from tests.harness import Servers, select_records
from tests.proxy.otlp.bodies import export, new_span_id, new_trace_id, post, span

pytestmark = pytest.mark.both_databases

MESSAGES: Any = [{"role": "user", "content": "fold me"}]


@pytest.fixture
def servers(db_url: str) -> Iterator[Servers]:
    """The servers on SQLite and on PostgreSQL (the fold is one transaction on each)."""
    s = Servers(db_url, key_salt="test-salt")
    try:
        yield s
    finally:
        s.close()


def url(servers: Servers) -> str:
    return servers.proxy_url + "/otlp/v1/traces"


def stats(servers: Servers) -> Any:
    servers.flush()
    with urllib.request.urlopen(f"{servers.proxy_url}/api/stats?group_by=model") as resp:
        return json.loads(resp.read())


def llm_span(trace: str, span_id: str, parent: str, response_id: str | None) -> Any:
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 999,  # the wire's count must win
        "gen_ai.usage.output_tokens": 1,
        "gen_ai.conversation.id": "conv-7",
    }
    if response_id is not None:
        attributes["gen_ai.response.id"] = response_id
    return span(trace, span_id, "chat gpt-4o-mini", parent_id=parent, kind=3, attributes=attributes)


def proxied(servers: Servers, **headers: str) -> tuple[str, str, int]:
    """A call through the proxy: its record id, response id and prompt tokens."""
    with openai.OpenAI(base_url=servers.base_url, api_key="sk-test-0") as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers=headers
        )
    answer = raw.parse()
    assert answer.usage is not None
    return raw.headers["wiretrace-call-id"], answer.id, answer.usage.prompt_tokens


def direct_response_id(servers: Servers) -> str:
    """The id the upstream gives this request (it derives ids from the body)."""
    with openai.OpenAI(base_url=servers.upstream_url + "/v1", api_key="sk-test-0") as client:
        return client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES).id


def assert_one_call(servers: Servers, trace: str, app_span: str, call_id: str, tokens: int) -> None:
    records = servers.records(trace_id=trace)
    llm = [r for r in records if r.kind == "llm"]
    assert [r.id for r in llm] == [call_id]
    call = llm[0]
    assert call.parent_id == app_span and call.project == "shop"
    assert call.usage is not None and call.usage.prompt_tokens == tokens  # the wire's
    assert call.session_id == "conv-7"  # the span's context
    assert call.display_name == "chat gpt-4o-mini"
    assert len(servers.records(id=call_id)) == 1
    totals = stats(servers)["totals"]
    assert totals["calls"] == len(records) == len(servers.records())
    assert totals["prompt_tokens"] == tokens


def test_span_first_then_the_proxied_call(servers: Servers) -> None:
    trace, app_span, llm = new_trace_id(), new_span_id(), new_span_id()
    response_id = direct_response_id(servers)
    status, _, _ = post(
        url(servers),
        export(span(trace, app_span, "handle"), llm_span(trace, llm, app_span, response_id)),
    )
    assert status == 200
    servers.flush()  # the span is stored, alone, first
    assert [r.kind for r in servers.records(trace_id=trace)].count("llm") == 1
    call_id, answered, tokens = proxied(servers)
    assert answered == response_id
    assert_one_call(servers, trace, app_span, call_id, tokens)


def test_the_proxied_call_first_then_the_span_late(servers: Servers) -> None:
    trace, app_span, llm = new_trace_id(), new_span_id(), new_span_id()
    call_id, response_id, tokens = proxied(servers)
    servers.flush()
    sent = export(span(trace, app_span, "handle"), llm_span(trace, llm, app_span, response_id))
    assert post(url(servers), sent)[0] == 200
    assert_one_call(servers, trace, app_span, call_id, tokens)
    assert post(url(servers), sent)[0] == 200  # the exporter sends it again
    assert_one_call(servers, trace, app_span, call_id, tokens)


def test_an_http_client_span_between_the_llm_span_and_the_call(servers: Servers) -> None:
    trace, app_span, llm, http = new_trace_id(), new_span_id(), new_span_id(), new_span_id()
    http_span = span(
        trace,
        http,
        "POST",
        parent_id=llm,
        kind=3,
        attributes={"http.request.method": "POST", "url.full": servers.base_url},
    )
    sent = export(span(trace, app_span, "handle"), llm_span(trace, llm, app_span, None), http_span)
    assert post(url(servers), sent)[0] == 200
    servers.flush()
    call_id, _, tokens = proxied(servers, traceparent=f"00-{trace}-{http}-01")
    assert_one_call(servers, trace, app_span, call_id, tokens)
    [http_record] = servers.records(id=http)
    assert http_record.parent_id == call_id  # re-parented onto the call


def test_of_retried_calls_under_one_span_the_answered_one_takes_it(servers: Servers) -> None:
    """The SDK's retry after a 429: two proxied calls under the span's HTTP client span. The
    span reports the answer, so the call that got it takes the span; the limited try stays
    a call of its own in the same trace."""
    trace, app_span, llm, http = new_trace_id(), new_span_id(), new_span_id(), new_span_id()
    traceparent = f"00-{trace}-{http}-01"
    call_id, response_id, tokens = proxied(
        servers, traceparent=traceparent, **{"x-fake-scenario": "first_429_1"}
    )
    servers.flush()
    tries = [r for r in servers.records(trace_id=trace) if r.kind == "llm"]
    assert sorted(r.status for r in tries) == ["error", "ok"]
    http_span = span(
        trace,
        http,
        "POST",
        parent_id=llm,
        kind=3,
        attributes={"http.request.method": "POST", "url.full": servers.base_url},
    )
    sent = export(
        span(trace, app_span, "handle"), llm_span(trace, llm, app_span, response_id), http_span
    )
    assert post(url(servers), sent)[0] == 200
    servers.flush()
    llm_records = {r.id: r for r in servers.records(trace_id=trace) if r.kind == "llm"}
    assert set(llm_records) == {r.id for r in tries}
    answered = llm_records[call_id]
    assert answered.status == "ok" and answered.parent_id == app_span
    assert answered.session_id == "conv-7" and answered.usage is not None
    assert answered.usage.prompt_tokens == tokens
    [limited] = [r for r in llm_records.values() if r.id != call_id]
    assert limited.status == "error" and limited.session_id is None
    assert limited.parent_id == http  # under the HTTP span, itself now under the answer
    [http_record] = servers.records(id=http)
    assert http_record.parent_id == call_id


def test_a_proxied_call_without_a_span_stays_as_it_is(servers: Servers) -> None:
    call_id, _, _ = proxied(servers)
    [record] = servers.records(id=call_id)
    assert "otel" not in record.attributes and record.display_name is None


def unflushed(servers: Servers, **equal: str) -> list[CallRecord]:
    """Stored records, read without waiting for the requests in flight (a held stream)."""
    with servers.app[ENGINE].connect() as conn:
        return select_records(conn, 100, **equal)


async def test_a_span_arriving_while_the_call_streams_folds_into_its_final_record(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ``running`` row is never folded into; the final record that replaces it is."""
    monkeypatch.setattr(handler, "RUNNING_AFTER_S", 0.2)
    client = openai.AsyncOpenAI(api_key="sk-test-0", base_url=servers.base_url, max_retries=0)
    stream = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"x-fake-scenario": "hold"},
    )
    first = await stream.__anext__()  # the upstream holds the stream after its first chunk
    deadline = asyncio.get_running_loop().time() + 10
    while not (running := await asyncio.to_thread(unflushed, servers, status="running")):
        assert asyncio.get_running_loop().time() < deadline, "no running record"
        await asyncio.sleep(0.05)  # the record appears after RUNNING_AFTER_S: nothing to await
    call_id = running[0].id
    trace, app_span, llm = new_trace_id(), new_span_id(), new_span_id()
    sent = export(span(trace, app_span, "handle"), llm_span(trace, llm, app_span, first.id))
    status, _, _ = await asyncio.to_thread(post, url(servers), sent)
    assert status == 200
    assert await asyncio.to_thread(servers.app[WRITER].flush, 10)
    assert len(await asyncio.to_thread(unflushed, servers, id=llm)) == 1  # stored alone for now
    servers.in_loop(servers.fake.release.set)
    usage = None
    async for chunk in stream:
        usage = chunk.usage or usage
    await client.close()
    assert usage is not None
    await asyncio.to_thread(assert_one_call, servers, trace, app_span, call_id, usage.prompt_tokens)
