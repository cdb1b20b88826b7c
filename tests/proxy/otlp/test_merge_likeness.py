"""An LLM span with no response id, from an app that sends no ``traceparent`` to the proxy,
is folded into the proxied call it is alike to (same project and model, the call's time
inside the span's, the same token counts), in either order, and only when that pairing is
unambiguous; a span that arrives after its LLM span was folded hangs under the call.

The app side is the real OpenTelemetry SDK exporting over OTLP/HTTP (its spans' times set
around the proxied call's, as an instrumentation wrapping the client would have them); the
proxied calls are made by the real ``openai`` client.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import openai
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Span, SpanKind, Tracer, set_span_in_context
from wiretrace_proxy.appkeys import ENGINE, WRITER
from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.forward import handler

from tests.harness import Servers, select_records
from tests.proxy.otlp.app_tracer import app_tracer

pytestmark = pytest.mark.both_databases

MESSAGES: Any = [{"role": "user", "content": "fold me by likeness"}]
MS = 1_000_000


@pytest.fixture
def servers(db_url: str) -> Iterator[Servers]:
    """Calls filed under ``shop``, the app's ``service.name``: likeness never crosses
    projects."""
    s = Servers(db_url, key_salt="test-salt", project="shop")
    try:
        yield s
    finally:
        s.close()


def proxied(servers: Servers, **headers: str) -> CallRecord:
    """One chat call through the proxy, stored."""
    with openai.OpenAI(base_url=servers.base_url, api_key="sk-test-0", max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers=headers
        )
    servers.flush()
    [record] = servers.records(id=raw.headers["wiretrace-call-id"])
    return record


def nanos(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000) * 1000


def llm_attributes(tokens: tuple[int, int] | None) -> dict[str, Any]:
    """What an instrumentation that records no response id says of a chat call."""
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.conversation.id": "conv-likeness",
    }
    if tokens is not None:
        attributes["gen_ai.usage.input_tokens"] = tokens[0]
        attributes["gen_ai.usage.output_tokens"] = tokens[1]
    return attributes


def llm_span(
    tracer: Tracer,
    parent: Span,
    start: datetime,
    end: datetime,
    tokens: tuple[int, int] | None,
) -> Span:
    """An LLM span from a little before ``start`` to a little after ``end``, exported."""
    span = tracer.start_span(
        "chat gpt-4o-mini",
        context=set_span_in_context(parent),
        kind=SpanKind.CLIENT,
        attributes=llm_attributes(tokens),
        start_time=nanos(start) - 4 * MS,
    )
    span.end(end_time=nanos(end) + 6 * MS)
    return span


def tokens_of(call: CallRecord) -> tuple[int, int]:
    assert call.usage is not None
    assert call.usage.prompt_tokens is not None and call.usage.completion_tokens is not None
    return call.usage.prompt_tokens, call.usage.completion_tokens


def ids(span: Span) -> tuple[str, str]:
    context = span.get_span_context()
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def llm_records(servers: Servers) -> list[CallRecord]:
    servers.flush()
    return [r for r in servers.records() if r.kind == "llm"]


def stats_totals(servers: Servers) -> Any:
    with urllib.request.urlopen(f"{servers.proxy_url}/api/stats?group_by=model") as resp:
        return json.loads(resp.read())["totals"]


def assert_folded(
    servers: Servers, call: CallRecord, trace: str, root: str, stored: int = 2
) -> CallRecord:
    """One LLM record, the call folded with the span; ``stored`` records in all (the app's
    root span, once it ended, and the call)."""
    [merged] = llm_records(servers)
    assert merged.id == call.id  # the proxied call's identity, Wiretrace-Call-Id
    assert (merged.trace_id, merged.parent_id) == (trace, root)  # the app's place
    assert merged.usage == call.usage and merged.cost_usd == call.cost_usd  # the wire's
    assert merged.session_id == "conv-likeness"  # the span's context
    otel: Any = merged.attributes["otel"]
    assert otel["merged_by"] == "heuristic"
    assert stats_totals(servers)["calls"] == stored
    return merged


def test_the_call_first_then_an_alike_span(servers: Servers) -> None:
    call = proxied(servers)
    with app_tracer(servers) as tracer, tracer.start_as_current_span("handle") as root:
        llm_span(tracer, root, call.started_at, call.ended_at or call.started_at, tokens_of(call))
    trace, root_id = ids(root)
    assert_folded(servers, call, trace, root_id)


def test_a_span_sent_again_after_a_guessed_fold_stays_folded(servers: Servers) -> None:
    """An exporter's retry of the same span: still one record, still marked."""
    call = proxied(servers)
    provider = TracerProvider(resource=Resource.create({"service.name": "shop"}))
    exporter = OTLPSpanExporter(endpoint=servers.proxy_url + "/otlp/v1/traces")
    tracer = provider.get_tracer("shop.app")
    with tracer.start_as_current_span("handle") as root:
        span = tracer.start_span(
            "chat gpt-4o-mini",
            context=set_span_in_context(root),
            attributes=llm_attributes(tokens_of(call)),
            start_time=nanos(call.started_at) - 4 * MS,
        )
        span.end(end_time=nanos(call.ended_at or call.started_at) + 6 * MS)
    try:
        for _ in range(2):
            assert exporter.export([root, span]).name == "SUCCESS"  # type: ignore[list-item]
            trace, root_id = ids(root)
            assert_folded(servers, call, trace, root_id)
    finally:
        exporter.shutdown()  # type: ignore[no-untyped-call]
        provider.shutdown()


def test_no_fold_when_a_span_covers_two_alike_calls(servers: Servers) -> None:
    first, second = proxied(servers), proxied(servers)
    with app_tracer(servers) as tracer, tracer.start_as_current_span("handle") as root:
        end = second.ended_at or second.started_at
        llm_span(tracer, root, first.started_at, end, tokens_of(first))
    records = llm_records(servers)
    assert len(records) == 3  # two calls and the span, none folded: which call was it?
    assert {r.id for r in records} >= {first.id, second.id}
    assert all("merged_by" not in json.dumps(r.attributes) for r in records)


def test_no_fold_when_two_spans_are_alike_to_one_call(servers: Servers) -> None:
    """Two instrumentations wrapping the same client, their spans in one export (an alike
    pair is judged among the rows stored when the later of the two arrives)."""
    call = proxied(servers)
    provider = TracerProvider(resource=Resource.create({"service.name": "shop"}))
    exporter = OTLPSpanExporter(endpoint=servers.proxy_url + "/otlp/v1/traces")
    tracer = provider.get_tracer("shop.app")
    with tracer.start_as_current_span("handle") as root:
        twins = [
            llm_span(tracer, root, call.started_at, call.ended_at or call.started_at, None)
            for _ in range(2)
        ]
    try:
        assert exporter.export([root, *twins]).name == "SUCCESS"  # type: ignore[list-item]
    finally:
        exporter.shutdown()  # type: ignore[no-untyped-call]
        provider.shutdown()
    assert len(llm_records(servers)) == 3


@pytest.mark.parametrize(
    ("difference", "headers"),
    [
        ("token counts", {}),
        ("project", {"Wiretrace-Project": "another"}),
        ("time", {}),
    ],
)
def test_no_fold_when_a_span_differs(
    servers: Servers, difference: str, headers: dict[str, str]
) -> None:
    call = proxied(servers, **headers)
    prompt, completion = tokens_of(call)
    start, end = call.started_at, call.ended_at or call.started_at
    if difference == "time":  # the call ended long before the span did
        end = datetime.fromtimestamp(end.timestamp() + 3, tz=end.tzinfo)
    with app_tracer(servers) as tracer, tracer.start_as_current_span("handle") as root:
        counts = (prompt + 1, completion) if difference == "token counts" else (prompt, completion)
        llm_span(tracer, root, start, end, counts)
    records = llm_records(servers)
    assert len(records) == 2, difference
    assert [r.id for r in records if "otel" not in r.attributes] == [call.id]


def unflushed(servers: Servers, **equal: str) -> list[CallRecord]:
    """Stored records, read without waiting for the requests in flight (a held stream)."""
    with servers.app[ENGINE].connect() as conn:
        return select_records(conn, 100, **equal)


async def test_a_span_stored_first_folds_into_the_alike_call_when_it_ends(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long stream: the app's span is stored while the call still runs (its ``running``
    row is never folded into); the call's final record finds the span."""
    monkeypatch.setattr(handler, "RUNNING_AFTER_S", 0.2)
    client = openai.AsyncOpenAI(api_key="sk-test-0", base_url=servers.base_url, max_retries=0)
    stream = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        stream=True,
        extra_headers={"x-fake-scenario": "hold"},
    )
    await stream.__anext__()  # the upstream holds the stream after its first chunk
    deadline = asyncio.get_running_loop().time() + 10
    while not (running := await asyncio.to_thread(unflushed, servers, status="running")):
        assert asyncio.get_running_loop().time() < deadline, "no running record"
        await asyncio.sleep(0.05)  # the record appears after RUNNING_AFTER_S: nothing to await
    call_id, started = running[0].id, running[0].started_at
    release_at = time.time() + 1.0  # the test ends the call then, and its span 0.5 s later
    ended = datetime.fromtimestamp(release_at + 0.5, tz=started.tzinfo)

    def send_span() -> tuple[str, str]:
        with app_tracer(servers) as tracer, tracer.start_as_current_span("handle") as root:
            llm_span(tracer, root, started, ended, None)  # a stream's span: no usage
        return ids(root)

    trace, root_id = await asyncio.to_thread(send_span)
    assert await asyncio.to_thread(servers.app[WRITER].flush, 10)
    assert len([r for r in await asyncio.to_thread(unflushed, servers) if r.kind == "llm"]) == 2
    await asyncio.sleep(max(0.0, release_at - time.time()))  # the span's end, to the ms
    servers.in_loop(servers.fake.release.set)
    async for _ in stream:
        pass
    await client.close()
    records = await asyncio.to_thread(llm_records, servers)
    assert [(r.id, r.trace_id, r.parent_id) for r in records] == [(call_id, trace, root_id)]
    assert records[0].usage is not None  # the wire's usage (the span had none)


def test_a_child_span_arriving_after_its_llm_span_was_folded_hangs_under_the_call(
    servers: Servers,
) -> None:
    call = proxied(servers)
    with app_tracer(servers) as tracer, tracer.start_as_current_span("handle") as root:
        llm = llm_span(
            tracer, root, call.started_at, call.ended_at or call.started_at, tokens_of(call)
        )
        trace, root_id = ids(root)
        assert_folded(servers, call, trace, root_id, stored=1)  # the LLM span is gone
        child = tracer.start_span(  # a tool run the model asked for, ended after the LLM span
            "execute_tool lookup",
            context=set_span_in_context(llm),
            attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup"},
        )
        child.end()
    servers.flush()
    child_id = format(child.get_span_context().span_id, "016x")
    [stored] = servers.records(id=child_id)
    assert stored.kind == "tool"
    assert stored.parent_id == call.id  # not the folded span's id, which names no record
    assert not servers.records(id=ids(llm)[1])
    with urllib.request.urlopen(f"{servers.proxy_url}/api/traces/{trace}") as resp:
        tree = json.loads(resp.read())
    [top] = tree["roots"]  # one tree: the app's span, the call, the tool run under it
    assert top["id"] == root_id
    [under] = top["children"]
    assert under["id"] == call.id
    assert [node["id"] for node in under["children"]] == [child_id]


def test_a_call_in_the_default_project_folds_into_the_apps_span_and_takes_its_project(
    db_url: str,
) -> None:
    """With no ``Wiretrace-Project`` the call is filed under the server's default, which
    says nothing of the app: its span's project (``service.name``) wins. A project the app
    named itself is never crossed (``test_no_fold_when_a_span_differs``)."""
    s = Servers(db_url, key_salt="test-salt", project="default")
    try:
        call = proxied(s)
        assert call.project == "default" and call.attributes["project_defaulted"] is True
        with app_tracer(s) as tracer, tracer.start_as_current_span("handle") as root:
            llm_span(
                tracer, root, call.started_at, call.ended_at or call.started_at, tokens_of(call)
            )
        trace, root_id = ids(root)
        merged = assert_folded(s, call, trace, root_id)
        assert merged.project == "shop"
    finally:
        s.close()
