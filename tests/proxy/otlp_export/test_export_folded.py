"""A proxied call folded with its app's LLM span is exported once, folded: in the app's
trace, under the app's span, whether the span arrived after the call was stored (the
exporter holds the call back for a while) or before it.

The app is the real OpenTelemetry SDK exporting to wiretrace over OTLP/HTTP; the calls are
made by the real ``openai`` client through the proxy; wiretrace exports to a local OTLP
receiver. Nothing here forces a flush: what the receiver gets is what the exporter sent
on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from opentelemetry.trace import Span, SpanKind, Tracer, set_span_in_context
from wiretrace_proxy.appkeys import OTLP_EXPORTER
from wiretrace_proxy.otlp_export import exporter as exporter_module

from tests.harness import Servers
from tests.proxy.otlp.app_tracer import app_tracer
from tests.proxy.otlp_export.receiver import OtlpReceiver, otlp_receiver

KEY = "sk-test-otlp-folded-0000000000000000"
MESSAGES: Any = [{"role": "user", "content": "export me folded"}]


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with otlp_receiver() as rx:
        yield rx


@pytest.fixture
def servers(
    tmp_path: Path, receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Servers]:
    monkeypatch.setattr(exporter_module, "MERGE_WINDOW_S", 3.0)  # the span comes within it
    s = Servers(
        f"sqlite:///{tmp_path / 'w.db'}", key_salt="s", project="shop", otlp_export=receiver.url
    )
    try:
        yield s
    finally:
        s.close()


def hex_ids(span: Span) -> tuple[str, str]:
    context = span.get_span_context()
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def call(servers: Servers, **headers: str) -> tuple[str, str]:
    """A chat call through the proxy, stored: its record id and response id."""
    with openai.OpenAI(base_url=servers.base_url, api_key=KEY, max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=MESSAGES, extra_headers=headers
        )
    servers.flush()
    return raw.headers["wiretrace-call-id"], raw.parse().id


def chat_span(tracer: Tracer, parent: Span, response_id: str | None = None) -> Span:
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o-mini",
    }
    if response_id is not None:
        attributes["gen_ai.response.id"] = response_id
    return tracer.start_span(
        "chat gpt-4o-mini",
        context=set_span_in_context(parent),
        kind=SpanKind.CLIENT,
        attributes=attributes,
    )


def the_exported_call(servers: Servers, receiver: OtlpReceiver, call_id: str) -> Any:
    """The one span the receiver got, which is the call: the first to arrive, and still
    the only one once everything left is flushed (no second copy in another trace)."""
    receiver.wait_spans(1, timeout=20)
    assert servers.app[OTLP_EXPORTER].flush(10)
    [(resource, span)] = receiver.spans()
    assert span.span_id.hex() == call_id
    assert resource["service.name"] == "shop"
    return span


def test_a_span_arriving_after_the_call_was_stored_is_exported_folded(
    servers: Servers, receiver: OtlpReceiver
) -> None:
    call_id, response_id = call(servers)  # stored, in wiretrace's own trace for now
    with app_tracer(servers) as tracer, tracer.start_as_current_span("handle") as root:
        chat_span(tracer, root, response_id).end()  # openai-v2 style: the response id
    servers.flush()  # folded: the call now sits in the app's trace
    span = the_exported_call(servers, receiver, call_id)
    trace, root_id = hex_ids(root)
    assert (span.trace_id.hex(), span.parent_span_id.hex()) == (trace, root_id)
    [stored] = servers.records(id=call_id)
    assert stored.trace_id == trace  # what wiretrace shows is what went out


def test_a_span_stored_before_its_call_is_exported_folded(
    servers: Servers, receiver: OtlpReceiver
) -> None:
    with app_tracer(servers) as tracer, tracer.start_as_current_span("handle") as root:
        llm = chat_span(tracer, root)
        llm.end()  # exported, stored alone before the call is (the test's order)
        servers.flush()
        trace, llm_id = hex_ids(llm)
        call_id, _ = call(servers, traceparent=f"00-{trace}-{llm_id}-01")  # OpenLLMetry style
    span = the_exported_call(servers, receiver, call_id)
    _, root_id = hex_ids(root)
    assert span.trace_id.hex() == trace
    assert span.parent_span_id.hex() == root_id  # not the folded span, which is no record


def test_a_call_no_span_claims_is_exported_when_its_window_passes(
    servers: Servers, receiver: OtlpReceiver
) -> None:
    call_id, _ = call(servers)
    span = the_exported_call(servers, receiver, call_id)
    [stored] = servers.records(id=call_id)
    assert span.trace_id.hex() == stored.trace_id and not span.parent_span_id
