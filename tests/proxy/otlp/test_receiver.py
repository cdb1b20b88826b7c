"""``POST /otlp/v1/traces`` answers as the OTLP/HTTP specification says: 200 with an
``ExportTraceServiceResponse`` in the request's encoding (``partial_success`` naming the
rejected spans), 400 with the reason for what is not a traces export, 413 past 64 MiB
(decompressed), 415 for other media types, 429 with ``Retry-After`` while the queue is busy.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from tests.harness import Servers
from tests.proxy.otlp import bodies
from tests.proxy.otlp.bodies import PROTOBUF, export, new_span_id, new_trace_id, post, span


def url(servers: Servers) -> str:
    return servers.proxy_url + "/otlp/v1/traces"


def test_an_empty_export_is_a_success_without_partial_success(servers: Servers) -> None:
    status, headers, body = post(url(servers), b"")
    assert status == 200 and headers["Content-Type"] == PROTOBUF
    assert bodies.partial_success(body) == (0, "")
    status, headers, body = post(url(servers), b"{}", "application/json")
    assert (status, json.loads(body)) == (200, {})


def test_spans_are_stored_with_their_ids_times_and_what_they_said(servers: Servers) -> None:
    trace, root, child = new_trace_id(), new_span_id(), new_span_id()
    sent = export(
        span(trace, root, "checkout", attributes={"cart.items": 3}),
        span(
            trace,
            child,
            "charge",
            parent_id=root,
            kind=3,
            attributes={"http.request.method": "POST", "tags": ["a", "b"], "n": 1.5},
            events=(("retry", {"attempt": 2}),),
            error="card declined",
        ),
        resource={"deployment.environment": "test"},
    )
    status, _, body = post(url(servers), sent)
    assert status == 200 and bodies.partial_success(body) == (0, "")
    by_id = {r.id: r for r in servers.records(trace_id=trace)}
    assert set(by_id) == {root, child}
    charge = by_id[child]
    assert charge.parent_id == root and charge.project == "shop" and charge.kind == "op"
    assert charge.status == "error" and charge.error is not None
    assert charge.error["message"] == "card declined"
    assert charge.latency_ms == 50.0 and charge.ended_at is not None
    otel: Any = charge.attributes["otel"]
    assert otel["kind"] == "CLIENT"
    assert otel["attributes"] == {"http.request.method": "POST", "tags": ["a", "b"], "n": 1.5}
    assert otel["events"][0]["name"] == "retry"
    assert otel["resource"]["deployment.environment"] == "test"
    assert charge.attributes["wiretrace.source"] == "otlp"


def test_json_with_hex_ids_any_case_and_string_int64s(servers: Servers) -> None:
    trace, root = new_trace_id(), new_span_id()
    sent = bodies.as_json(export(span(trace, root, "json-span", attributes={"n": 2**40})))
    assert trace.upper() in sent.decode()  # hex, upper case, as the JSON mapping allows
    status, headers, body = post(url(servers), sent, "application/json")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {}
    [record] = servers.records(trace_id=trace)
    assert record.id == root and record.op_name == "json-span"
    otel: Any = record.attributes["otel"]
    assert otel["attributes"] == {"n": 2**40}


def test_gzip_bodies_are_inflated(servers: Servers) -> None:
    trace = new_trace_id()
    sent = gzip.compress(export(span(trace, new_span_id(), "zipped")))
    status, _, _ = post(url(servers), sent, headers={"Content-Encoding": "gzip"})
    assert status == 200
    assert [r.op_name for r in servers.records(trace_id=trace)] == ["zipped"]


def test_a_gzip_bomb_is_refused_413_without_inflating_it_all(servers: Servers) -> None:
    bomb = gzip.compress(b"\x0a" + b"\0" * (65 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 200_000
    status, _, body = post(url(servers), bomb, headers={"Content-Encoding": "gzip"})
    assert status == 413 and b"larger than" in body


def test_partially_invalid_spans_are_rejected_alone_and_named(servers: Servers) -> None:
    trace, good = new_trace_id(), new_span_id()
    bad = span(trace, new_span_id(), "no-start")
    bad.start_time_unix_nano = 0
    status, _, body = post(url(servers), export(span(trace, good, "fine"), bad))
    assert status == 200
    rejected, message = bodies.partial_success(body)
    assert rejected == 1 and "start time is missing" in message and bad.span_id.hex() in message
    assert [r.id for r in servers.records(trace_id=trace)] == [good]
    sent = {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz", "spanId": "x"}]}]}]}
    status, _, body = post(url(servers), json.dumps(sent).encode(), "application/json")
    answer = json.loads(body)
    assert status == 200 and answer["partialSuccess"]["rejectedSpans"] == "1"
    assert "trace id must be 16 bytes" in answer["partialSuccess"]["errorMessage"]


@pytest.mark.parametrize(
    ("body", "content_type", "says"),
    [
        (b"\xff\xff\xff", PROTOBUF, "not a protobuf ExportTraceServiceRequest"),
        (b"{not json", "application/json", "not valid JSON"),
        (b"[1, 2]", "application/json", "must be a JSON object"),
        (b'{"resourceLogs": []}', "application/json", "OTLP logs export"),
        (b'{"resourceMetrics": []}', "application/json", "OTLP metrics export"),
        (b'{"resourceSpans": [{"scopeSpans": 3}]}', "application/json", "OTLP/JSON"),
    ],
)
def test_what_is_not_a_traces_export_is_a_400_saying_why(
    servers: Servers, body: bytes, content_type: str, says: str
) -> None:
    status, _, answer = post(url(servers), body, content_type)
    assert status == 400 and says.encode() in answer


def test_a_protobuf_logs_export_is_a_400_naming_logs(servers: Servers) -> None:
    logs = ExportLogsServiceRequest()
    record = logs.resource_logs.add().scope_logs.add().log_records.add()
    record.time_unix_nano, record.severity_number = 1, 9  # type: ignore[assignment]
    record.body.string_value = "hello"
    record.trace_id, record.span_id = bytes(range(1, 17)), bytes(range(1, 9))
    status, _, answer = post(url(servers), logs.SerializeToString())
    assert status == 400 and b"OTLP logs export" in answer  # a google.rpc.Status message
    assert answer[:1] == b"\x08" and answer[1:2] == b"\x03"  # code 3, INVALID_ARGUMENT


def test_other_media_types_and_encodings_are_415(servers: Servers) -> None:
    assert post(url(servers), b"x", "text/plain")[0] == 415
    status, _, _ = post(url(servers), b"\x1f\x8bxx", headers={"Content-Encoding": "zstd-ish"})
    assert status == 415


@pytest.fixture
def small_queue(tmp_path: Path) -> Iterator[Servers]:
    """A writer queue of 4, of which ingest may fill half."""
    busy = Servers(f"sqlite:///{tmp_path / 'q.db'}", max_pending=4)
    try:
        yield busy
    finally:
        busy.close()


def test_a_busy_queue_answers_429_with_retry_after_and_stores_nothing(
    small_queue: Servers,
) -> None:
    trace = new_trace_id()
    many = export(*(span(trace, new_span_id(), f"s{i}") for i in range(3)))
    status, headers, body = post(url(small_queue), many)
    assert status == 429 and headers["Retry-After"] == "2"
    assert b"retry later" in body
    assert small_queue.records(trace_id=trace) == []
    status, _, _ = post(url(small_queue), export(span(trace, new_span_id(), "one")))
    assert status == 200  # a smaller export fits


def test_the_route_is_in_the_openapi_document_and_answers_its_schema(servers: Servers) -> None:
    import urllib.request

    import jsonschema

    with urllib.request.urlopen(servers.proxy_url + "/api/openapi.json") as resp:
        document = json.loads(resp.read())
    operation = document["paths"]["/otlp/v1/traces"]["post"]
    assert {"200", "400", "413", "415", "429", "503"} <= set(operation["responses"])
    assert set(operation["requestBody"]["content"]) == {"application/json", PROTOBUF}
    trace = new_trace_id()
    bad = span(trace, new_span_id(), "bad")
    bad.start_time_unix_nano = 0
    _, _, body = post(url(servers), bodies.as_json(export(bad)), "application/json")
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    jsonschema.validate(json.loads(body), ok)
    _, _, body = post(url(servers), b"{", "application/json")
    failed = operation["responses"]["400"]["content"]["application/json"]["schema"]
    jsonschema.validate(json.loads(body), failed)


def test_json_ids_in_base64_as_old_collectors_sent_them(servers: Servers) -> None:
    trace, root = new_trace_id(), new_span_id()
    sent = json.loads(bodies.as_json(export(span(trace, root, "b64"))))
    item = sent["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    item["traceId"] = base64.b64encode(bytes.fromhex(trace)).decode()
    item["spanId"] = base64.b64encode(bytes.fromhex(root)).decode()
    status, _, _ = post(url(servers), json.dumps(sent).encode(), "application/json")
    assert status == 200
    assert [r.id for r in servers.records(trace_id=trace)] == [root]
