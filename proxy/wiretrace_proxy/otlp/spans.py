"""Decoded OTLP spans as plain values: ids as hex, times as UTC, attributes as JSON.

``AnyValue`` becomes the JSON value it holds (arrays as lists, key-value lists as
objects, bytes as base64 text). A span that cannot be a record (an id of the wrong
length or all zeros, no start time) is returned in ``rejected`` with the reason, so the
answer's ``partial_success`` can name it while the export's other spans are stored.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from wiretrace_proxy.callrecord import JSON, JSONObject

__all__ = ["OtlpSpan", "Rejected", "SpanBatch", "attributes_of", "read_spans", "value_of"]

SPAN_KINDS = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
STATUS_CODES = ("UNSET", "OK", "ERROR")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class OtlpSpan:
    """One span with its resource and scope, as plain data."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str
    """``INTERNAL``, ``SERVER``, ``CLIENT``, ``PRODUCER``, ``CONSUMER`` or ``UNSPECIFIED``."""
    started_at: datetime
    ended_at: datetime | None
    status_code: str
    status_message: str
    attributes: JSONObject
    events: list[JSONObject]
    links: list[JSONObject]
    resource: JSONObject
    scope: JSONObject
    trace_state: str = ""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A span that is not stored, and why."""

    span_id: str
    reason: str


@dataclass(slots=True)
class SpanBatch:
    spans: list[OtlpSpan] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def read_spans(request: ExportTraceServiceRequest) -> SpanBatch:
    """Every span of the export, or the reason it is rejected."""
    batch = SpanBatch()
    for resource_spans in request.resource_spans:
        resource = attributes_of(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope_msg = scope_spans.scope
            scope: JSONObject = {"name": scope_msg.name, "version": scope_msg.version}
            if scope_msg.attributes:
                scope["attributes"] = attributes_of(scope_msg.attributes)
            for span in scope_spans.spans:
                problem = _problem(span)
                if problem is not None:
                    label = span.span_id.hex() or f"(no id, name {span.name!r})"
                    batch.rejected.append(Rejected(label, problem))
                else:
                    batch.spans.append(_span(span, resource, scope))
    return batch


def _problem(span: Span) -> str | None:
    if len(span.trace_id) != 16 or not any(span.trace_id):
        return "trace id must be 16 bytes, not all zero"
    if len(span.span_id) != 8 or not any(span.span_id):
        return "span id must be 8 bytes, not all zero"
    if span.parent_span_id and len(span.parent_span_id) != 8:
        return "parent span id must be 8 bytes or empty"
    if not span.start_time_unix_nano:
        return "start time is missing"
    return None


def _time(nanos: int) -> datetime:
    return _EPOCH + timedelta(microseconds=nanos // 1000)


def _span(span: Span, resource: JSONObject, scope: JSONObject) -> OtlpSpan:
    parent = span.parent_span_id
    end = span.end_time_unix_nano
    return OtlpSpan(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_id=parent.hex() if parent and any(parent) else None,
        name=span.name,
        kind=SPAN_KINDS[span.kind] if 0 <= span.kind < len(SPAN_KINDS) else str(span.kind),
        started_at=_time(span.start_time_unix_nano),
        ended_at=_time(end) if end >= span.start_time_unix_nano and end else None,
        status_code=_status(span.status.code),
        status_message=span.status.message,
        attributes=attributes_of(span.attributes),
        events=[
            {
                "name": event.name,
                "time": _time(event.time_unix_nano).isoformat(),
                "attributes": attributes_of(event.attributes),
            }
            for event in span.events
        ],
        links=[
            {
                "trace_id": link.trace_id.hex(),
                "span_id": link.span_id.hex(),
                "attributes": attributes_of(link.attributes),
            }
            for link in span.links
        ],
        resource=resource,
        scope=scope,
        trace_state=span.trace_state,
    )


def _status(code: int) -> str:
    return STATUS_CODES[code] if 0 <= code < len(STATUS_CODES) else str(code)


def attributes_of(pairs: Iterable[KeyValue]) -> JSONObject:
    """``repeated KeyValue`` as a JSON object (a repeated key: the last one wins)."""
    out: JSONObject = {}
    for pair in pairs:
        out[pair.key] = value_of(pair.value)
    return out


def value_of(value: AnyValue) -> JSON:
    """An ``AnyValue`` as JSON."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which == "bool_value":
        return value.bool_value
    if which == "int_value":
        return value.int_value
    if which == "double_value":
        return value.double_value
    if which == "array_value":
        return [value_of(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return attributes_of(value.kvlist_value.values)
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None
