"""OTLP export bodies for tests, built with ``opentelemetry-proto``'s own classes."""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.error
import urllib.request
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

PROTOBUF = "application/x-protobuf"


def new_trace_id() -> str:
    return os.urandom(16).hex()


def new_span_id() -> str:
    return os.urandom(8).hex()


def any_value(value: Any) -> AnyValue:
    out = AnyValue()
    if isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        out.int_value = value
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, list):
        out.array_value.values.extend(any_value(v) for v in value)
    elif isinstance(value, dict):
        out.kvlist_value.values.extend(
            KeyValue(key=k, value=any_value(v)) for k, v in value.items()
        )
    return out


def pairs(values: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=k, value=any_value(v)) for k, v in values.items()]


def span(
    trace_id: str,
    span_id: str,
    name: str,
    *,
    parent_id: str | None = None,
    kind: int = Span.SPAN_KIND_INTERNAL,
    attributes: dict[str, Any] | None = None,
    events: tuple[tuple[str, dict[str, Any]], ...] = (),
    start_ns: int | None = None,
    duration_ms: int = 50,
    error: str | None = None,
) -> Span:
    start = start_ns if start_ns is not None else time.time_ns()
    out = Span(
        trace_id=bytes.fromhex(trace_id),
        span_id=bytes.fromhex(span_id),
        parent_span_id=bytes.fromhex(parent_id) if parent_id else b"",
        name=name,
        kind=kind,  # type: ignore[arg-type]
        start_time_unix_nano=start,
        end_time_unix_nano=start + duration_ms * 1_000_000,
    )
    out.attributes.extend(
        KeyValue(key=k, value=any_value(v)) for k, v in (attributes or {}).items()
    )
    for event_name, event_attributes in events:
        event = out.events.add(name=event_name, time_unix_nano=start)
        event.attributes.extend(pairs(event_attributes))
    if error is not None:
        out.status.code = 2  # type: ignore[assignment]
        out.status.message = error
    return out


def export(*spans: Span, service: str = "shop", resource: dict[str, Any] | None = None) -> bytes:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    attributes = {"service.name": service, **(resource or {})}
    resource_spans.resource.attributes.extend(pairs(attributes))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "tests"
    scope_spans.spans.extend(spans)
    return request.SerializeToString()


def as_json(body: bytes) -> bytes:
    """The same export in OTLP/JSON: hex ids, integer enums, 64-bit integers as strings."""
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    data = json_format.MessageToDict(request, use_integers_for_enums=True)
    for resource in data.get("resourceSpans", []):
        for scope in resource.get("scopeSpans", []):
            for item in scope.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in item:
                        item[key] = _b64_to_hex(item[key]).upper()
    return json.dumps(data).encode()


def _b64_to_hex(value: str) -> str:
    return base64.b64decode(value).hex()


def post(
    url: str, body: bytes, content_type: str = PROTOBUF, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """POST an export; the status, headers and body of the answer (errors included)."""
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": content_type, **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), exc.read()


def partial_success(body: bytes) -> tuple[int, str]:
    response = ExportTraceServiceResponse()
    response.ParseFromString(body)
    return response.partial_success.rejected_spans, response.partial_success.error_message
