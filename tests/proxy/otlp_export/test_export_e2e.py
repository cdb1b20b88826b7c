"""The exporter in a running server: proxied calls (the real ``openai`` client through the
proxy to the fake upstream) and SDK spans (``wiretrace.op``) reach a local OTLP receiver
once each, with their ids, parentage, model, usage, cost and messages; the proxy's calls do
not wait for an exporter whose backend is down; a stop flushes what is queued."""

from __future__ import annotations

import json
import statistics
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import openai
import pytest
import wiretrace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from wiretrace import _state
from wiretrace_proxy.appkeys import OTLP_EXPORTER
from wiretrace_proxy.otlp_export.encode import any_value

from tests.fakes.fake_streams import ANSWER
from tests.harness import Servers, fake_upstream_url
from tests.proxy.otlp_export.receiver import OtlpReceiver, attrs, otlp_receiver
from tests.proxy.otlp_export.test_sender import closed_port_url
from tests.proxy.process import ServerProcess

KEY = "sk-test-otlp-export-0000000000000000"


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with otlp_receiver() as rx:
        yield rx


@pytest.fixture
def exporting(tmp_path: Path, receiver: OtlpReceiver) -> Iterator[Servers]:
    servers = Servers(
        f"sqlite:///{tmp_path / 'w.db'}", key_salt="s", project="shop", otlp_export=receiver.url
    )
    try:
        yield servers
    finally:
        _state.reset()
        servers.close()


def exported(servers: Servers) -> None:
    """Wait until every stored record went through the exporter."""
    servers.flush()
    assert servers.app[OTLP_EXPORTER].flush(10)


def by_id(receiver: OtlpReceiver) -> dict[str, tuple[dict[str, object], Span]]:
    spans = receiver.spans()
    ids = [span.span_id.hex() for _, span in spans]
    assert len(ids) == len(set(ids)), f"a span arrived twice: {ids}"
    return {span.span_id.hex(): (resource, span) for resource, span in spans}


def health(servers: Servers) -> Any:
    with urllib.request.urlopen(f"{servers.proxy_url}/healthz") as response:
        return json.load(response)


def test_proxied_calls_arrive_once_with_their_genai_attributes(
    exporting: Servers, receiver: OtlpReceiver
) -> None:
    client = openai.OpenAI(base_url=exporting.base_url, api_key=KEY)
    plain = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
    )
    stream = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream.parse() if c.choices) == ANSWER
    exported(exporting)
    spans = by_id(receiver)
    plain_id, stream_id = plain.headers["Wiretrace-Call-Id"], stream.headers["Wiretrace-Call-Id"]
    assert set(spans) == {plain_id, stream_id}
    for call_id in (plain_id, stream_id):
        record = exporting.record(call_id)
        resource, span = spans[call_id]
        found = attrs(span.attributes)
        assert resource["service.name"] == "shop"
        assert span.trace_id.hex() == record.trace_id and span.parent_span_id == b""
        assert span.name == "chat gpt-4o-mini" and span.kind == Span.SPAN_KIND_CLIENT
        assert found["gen_ai.request.model"] == "gpt-4o-mini"
        assert found["gen_ai.response.model"] == record.response_model
        assert isinstance(record.output, dict)
        assert found["gen_ai.response.id"] == record.output["id"]
        assert found["gen_ai.response.finish_reasons"] == ["stop"]
        assert record.usage is not None and record.usage.prompt_tokens
        assert found["gen_ai.usage.input_tokens"] == record.usage.prompt_tokens
        assert found["gen_ai.usage.output_tokens"] == record.usage.completion_tokens
        assert found["gen_ai.usage.cost"] == record.cost_usd and record.cost_usd
        assert found["wiretrace.key_fingerprint"] == record.key_fingerprint
        output = json.loads(str(found["gen_ai.output.messages"]))
        assert output == [
            {
                "role": "assistant",
                "parts": [{"type": "text", "content": ANSWER}],
                "finish_reason": "stop",
            }
        ]
        assert KEY not in str(span)  # the key itself never leaves
    plain_input = json.loads(str(attrs(spans[plain_id][1].attributes)["gen_ai.input.messages"]))
    assert plain_input[0] == {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]}
    stream_found = attrs(spans[stream_id][1].attributes)
    assert stream_found["gen_ai.request.stream"] is True
    assert stream_found["gen_ai.response.time_to_first_chunk"] == pytest.approx(
        exporting.record(stream_id).ttft_ms / 1000  # type: ignore[operator]
    )
    body = health(exporting)
    shown = body["otlp_export"]
    assert shown == {
        "url": receiver.url,
        "queued": 0,
        "sent": 2,
        "dropped": 0,
        "retries": 0,
        "last_error": None,
    }
    with urllib.request.urlopen(f"{exporting.proxy_url}/api/openapi.json") as response:
        document = json.load(response)
    schema = document["paths"]["/healthz"]["get"]["responses"]["200"]["content"]
    whole = {**schema["application/json"]["schema"], "components": document["components"]}
    jsonschema.Draft202012Validator(whole).validate(body)  # as /api/openapi.json says


def test_sdk_spans_and_the_call_under_them_arrive_once_as_one_trace(
    exporting: Servers, receiver: OtlpReceiver
) -> None:
    client = openai.OpenAI(api_key=KEY)  # default base URL: init() routes it via the proxy
    wiretrace.init(project="shop", url=exporting.proxy_url)

    @wiretrace.op
    def answer(question: str) -> str:
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": question}]
        )
        return reply.choices[0].message.content or ""

    assert answer("What is wiretrace?") == ANSWER
    assert wiretrace.finish(10)
    exported(exporting)
    spans = by_id(receiver)
    assert len(spans) == 2
    (op,) = [s for _, s in spans.values() if s.kind == Span.SPAN_KIND_INTERNAL]
    (llm,) = [s for _, s in spans.values() if s.kind == Span.SPAN_KIND_CLIENT]
    assert llm.trace_id == op.trace_id
    assert llm.parent_span_id == op.span_id and op.parent_span_id == b""
    assert op.name.endswith("answer")
    found = attrs(op.attributes)
    assert found["wiretrace.kind"] == "op"
    assert json.loads(str(found["wiretrace.inputs"])) == {"question": "What is wiretrace?"}
    assert json.loads(str(found["wiretrace.output"])) == ANSWER
    assert op.start_time_unix_nano <= llm.start_time_unix_nano
    # The proxy notes a call's end after its last write to the app, which may already have
    # returned from the op: a few milliseconds on a loaded machine.
    assert llm.end_time_unix_nano <= op.end_time_unix_nano + 250_000_000
    assert attrs(llm.attributes)["gen_ai.usage.cost"]


def call_latencies(servers: Servers, count: int) -> list[float]:
    client = openai.OpenAI(base_url=servers.base_url, api_key=KEY, max_retries=0)
    latencies: list[float] = []
    for n in range(count):
        started = time.perf_counter()
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"{n}"}]
        )
        latencies.append(time.perf_counter() - started)
        servers.flush()  # the record is stored, so it is in the exporter's hands
    return latencies


def test_calls_do_not_wait_for_a_backend_that_is_down(tmp_path: Path) -> None:
    plain = Servers(f"sqlite:///{tmp_path / 'a.db'}", key_salt="s")
    try:
        baseline = call_latencies(plain, 8)
    finally:
        plain.close()
    down = Servers(
        f"sqlite:///{tmp_path / 'b.db'}",
        key_salt="s",
        otlp_export=closed_port_url(),
        otlp_export_hold=0.0,  # tried at once, not held for a span to fold in
        drain_timeout=1.0,  # the stop retries the down backend for this long, then drops
    )
    try:
        latencies = call_latencies(down, 8)
        exporter = down.app[OTLP_EXPORTER]
        deadline = time.monotonic() + 10
        while exporter.stats().last_error is None and time.monotonic() < deadline:
            time.sleep(0.05)  # another thread's retries: nothing here to wait on
        stats = exporter.stats()
        assert stats.last_error is not None and "cannot reach" in stats.last_error
        assert stats.sent == 0
    finally:
        down.close()
    # Generous bounds: this is not a benchmark, it catches a call that waits on the export.
    assert statistics.median(latencies) < statistics.median(baseline) + 0.05
    assert max(latencies) < 1.0


def test_a_stop_flushes_the_spans_still_queued(tmp_path: Path, receiver: OtlpReceiver) -> None:
    servers = Servers(f"sqlite:///{tmp_path / 'w.db'}", key_salt="s", otlp_export=receiver.url)
    try:
        client = openai.OpenAI(base_url=servers.base_url, api_key=KEY)
        ids = [
            client.chat.completions.with_raw_response.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"{n}"}]
            ).headers["Wiretrace-Call-Id"]
            for n in range(3)
        ]
    finally:
        servers.close()  # the exporter sends every second: these are still queued
    assert sorted(by_id(receiver)) == sorted(ids)


def ingest(servers: Servers, request: ExportTraceServiceRequest) -> None:
    """Send an app's own OTLP spans to the server's receiver."""
    post = urllib.request.Request(
        f"{servers.proxy_url}/otlp/v1/traces",
        data=request.SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"},
    )
    with urllib.request.urlopen(post) as response:
        assert response.status == 200


def app_span(span_id: str, name: str, attributes: dict[str, Any], parent: str = "") -> Span:
    now = time.time_ns()
    span = Span(
        trace_id=bytes.fromhex("ab" * 16),
        span_id=bytes.fromhex(span_id),
        parent_span_id=bytes.fromhex(parent) if parent else b"",
        name=name,
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=now - 5_000_000,
        end_time_unix_nano=now,
    )
    for key, val in attributes.items():
        span.attributes.add(key=key).value.CopyFrom(any_value(val))
    return span


def test_spans_received_over_otlp_are_not_exported_back(
    exporting: Servers, receiver: OtlpReceiver
) -> None:
    client = openai.OpenAI(base_url=exporting.base_url, api_key=KEY)
    call = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    response_id = call.parse().id
    exported(exporting)
    llm = app_span(
        "1" * 16,
        "chat gpt-4o-mini",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.id": response_id,  # the proxied call's: the two are one call
        },
        parent="2" * 16,
    )
    agent = app_span("2" * 16, "invoke_agent helper", {"gen_ai.operation.name": "invoke_agent"})
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.extend([llm, agent])
    ingest(exporting, request)
    exported(exporting)
    stored = exporting.record(call.headers["Wiretrace-Call-Id"])
    assert stored.trace_id == "ab" * 16  # folded into the app's trace...
    assert sorted(by_id(receiver)) == [stored.id]  # ...and exported once, the app's spans never
    assert exporting.app[OTLP_EXPORTER].stats().dropped == 0


def test_one_wiretrace_reads_back_what_another_exports(tmp_path: Path) -> None:
    """Round trip through wiretrace's own OTLP receiver: what the conventions carry is
    understood as the same call (ids, model, usage, output)."""
    reader = Servers(f"sqlite:///{tmp_path / 'reader.db'}", key_salt="s")
    try:
        writer = Servers(
            f"sqlite:///{tmp_path / 'writer.db'}",
            key_salt="s",
            project="shop",
            otlp_export=reader.proxy_url + "/otlp",  # a base: /v1/traces is appended
        )
        try:
            with openai.OpenAI(base_url=writer.base_url, api_key=KEY) as client:
                raw = client.chat.completions.with_raw_response.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
                )
            exported(writer)
            sent = writer.record(raw.headers["Wiretrace-Call-Id"])
        finally:
            writer.close()
        got = reader.record(sent.id)
    finally:
        reader.close()
    assert (got.trace_id, got.project, got.kind) == (sent.trace_id, "shop", "llm")
    assert (got.model, got.response_model) == (sent.model, sent.response_model)
    assert got.usage is not None and sent.usage is not None
    assert (got.usage.prompt_tokens, got.usage.completion_tokens) == (
        sent.usage.prompt_tokens,
        sent.usage.completion_tokens,
    )
    assert got.attributes.get("wiretrace.source") == "otlp"
    assert ANSWER in json.dumps(got.output, ensure_ascii=False)


def test_wiretrace_serve_exports_with_its_flags_and_flushes_on_sigterm(
    tmp_path: Path, receiver: OtlpReceiver
) -> None:
    with fake_upstream_url() as upstream:
        base = receiver.url.removesuffix("/v1/traces")  # a base URL: /v1/traces is appended
        server = ServerProcess(
            upstream, tmp_path / "w.db", "--otlp-export", base, "--otlp-export-headers", "x-k=v"
        )
        with openai.OpenAI(base_url=server.url + "/v1", api_key=KEY) as client:
            for n in range(3):
                client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": f"{n}"}]
                )
        code, out = server.stop(30)  # SIGTERM at once: the stop sends what is still queued
    assert code == 0, out
    assert f"otlp: exporting every call and span to {receiver.url}" in out
    assert len(by_id(receiver)) == 3
    assert all(r.headers["x-k"] == "v" for r in receiver.received)
