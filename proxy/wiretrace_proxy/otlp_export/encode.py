"""Records as OTLP protobuf: one span per record, one ``ResourceSpans`` per project.

Built straight from ``opentelemetry.proto`` messages: a stored record already has its ids
and times, so there is nothing for an OpenTelemetry SDK to do. Each span has:

- the record's trace id, span id and parent id, its start and end (an end-less record ends
  at its start plus its latency, else at its start);
- kind CLIENT for a proxied call (the proxy is a client of the upstream), INTERNAL for an
  SDK span; status OK, or ERROR with the error's message for an error or a cancelled call,
  and an ``exception`` event carrying an SDK span's traceback;
- ``wiretrace.*`` attributes (everything the record says that no convention has a name
  for), ``gen_ai.*`` for a proxied call, and OpenInference keys when asked.

Resource: ``service.name`` is the record's project. A string attribute longer than
``MAX_STRING_CHARS`` is cut there (``wiretrace.truncated_attributes`` names it): a backend
refuses an oversized request as a whole, and a batch must not be lost for one huge body.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from google.protobuf.internal.containers import RepeatedCompositeFieldContainer
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from wiretrace_proxy import __version__
from wiretrace_proxy.callrecord import JSON, CallRecord, JSONObject
from wiretrace_proxy.otlp_export.genai import (
    OTHER_PROVIDER,
    genai_attributes,
    provider_name,
    span_name,
    to_json,
)
from wiretrace_proxy.otlp_export.openinference import openinference_attributes

__all__ = ["MAX_STRING_CHARS", "EncodeOptions", "encode_request", "encode_span", "exportable"]

MAX_STRING_CHARS = 1_000_000
SCOPE = InstrumentationScope(name="wiretrace", version=__version__)
_HEX16 = re.compile(r"^[0-9a-f]{16}$")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_INT64 = 2**63


@dataclass(frozen=True, slots=True)
class EncodeOptions:
    provider: str = OTHER_PROVIDER
    """``gen_ai.provider.name`` of proxied calls whose record names no provider (the
    server's upstream's)."""
    server_address: str | None = None
    server_port: int | None = None
    openinference: bool = False
    """Add OpenInference keys (``--otlp-export-openinference``)."""


def exportable(record: CallRecord) -> bool:
    """Whether ``record`` has ids OTLP can carry (W3C hex) and a final status."""
    return (
        record.status != "running"
        and bool(_HEX16.match(record.id))
        and bool(_HEX32.match(record.trace_id))
        and (record.parent_id is None or bool(_HEX16.match(record.parent_id)))
    )


def encode_request(spans: Iterable[tuple[str, bytes]]) -> bytes:
    """``(project, serialised span)`` pairs as one serialised ``ExportTraceServiceRequest``,
    a ``ResourceSpans`` per project.

    Assembled from each span's bytes (protobuf's wire format is the concatenation of its
    fields), not by adding ``Span`` messages to a request: copying 512 messages into one
    is a single call that holds the GIL for tens of milliseconds, which the event loop
    would wait out; the spans are serialised one at a time instead, as they are encoded.
    """
    by_project: dict[str, list[bytes]] = {}
    for project, span in spans:
        by_project.setdefault(project, []).append(span)
    parts: list[bytes] = []
    for project, listed in by_project.items():
        resource = Resource()
        _fill(resource.attributes, _resource_attributes(project))
        scope_spans = b"".join([_SCOPE_FIELD, *(_field(2, span) for span in listed)])
        resource_spans = _field(1, resource.SerializeToString()) + _field(2, scope_spans)
        parts.append(_field(1, resource_spans))
    return b"".join(parts)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field: its tag, the payload's length, the payload."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _resource_attributes(project: str) -> JSONObject:
    return {
        "service.name": project,
        "telemetry.sdk.name": "wiretrace",
        "telemetry.sdk.language": "python",
        "telemetry.sdk.version": __version__,
    }


def encode_span(record: CallRecord, options: EncodeOptions) -> Span:
    """``record`` (``exportable``) as an OTLP span."""
    attributes = wiretrace_attributes(record)
    provider = _provider(record, options)
    if record.kind == "llm":
        attributes.update(genai_attributes(record, provider))
        attributes.update(_server(record, options))
    if options.openinference:
        attributes.update(openinference_attributes(record, provider))
    span = Span(
        trace_id=bytes.fromhex(record.trace_id),
        span_id=bytes.fromhex(record.id),
        parent_span_id=bytes.fromhex(record.parent_id) if record.parent_id else b"",
        name=span_name(record) if record.kind == "llm" else record.display_name or record.op_name,
        kind=Span.SPAN_KIND_CLIENT if record.kind == "llm" else Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=_nanos(record.started_at),
        end_time_unix_nano=_nanos(_ended(record)),
        status=_status(record),
    )
    if record.kind == "op" and record.status == "error" and record.error:
        _add_exception_event(span, record)
    _fill(span.attributes, attributes)
    return span


def _provider(record: CallRecord, options: EncodeOptions) -> str:
    """The record's own provider (``record/upstream.py``: intercepted calls go to many),
    else the server's upstream's."""
    named = record.attributes.get("provider")
    return provider_name(named) if isinstance(named, str) and named else options.provider


def _server(record: CallRecord, options: EncodeOptions) -> JSONObject:
    host = record.attributes.get("upstream_host")
    if isinstance(host, str) and host and host != options.server_address:
        return {"server.address": host}  # its port is not recorded
    return {"server.address": options.server_address, "server.port": options.server_port}


def wiretrace_attributes(record: CallRecord) -> JSONObject:
    """What the record says beyond the conventions, under ``wiretrace.``; None left out."""
    request = record.attributes.get("request")
    request = request if isinstance(request, dict) else {}
    found: JSONObject = {
        "wiretrace.project": record.project,
        "wiretrace.kind": record.kind,
        "wiretrace.op_name": record.op_name,
        "wiretrace.display_name": record.display_name,
        "wiretrace.status": record.status,
        "wiretrace.latency_ms": record.latency_ms,
        "wiretrace.ttft_ms": record.ttft_ms,
        "wiretrace.overhead_ms": record.overhead_ms,
        "wiretrace.cost_usd": record.cost_usd,
        "wiretrace.usage_source": record.usage_source,
        "wiretrace.key_fingerprint": record.key_fingerprint,
        "wiretrace.op_version": record.op_version,
        "wiretrace.model_version": record.model_version,
        "wiretrace.prompt_digest": record.prompt_digest,
        "session.id": record.session_id,
        "user.id": record.user_id,
        "http.response.status_code": record.http_status,
        "http.request.method": request.get("method"),
        "url.path": request.get("path"),
    }
    if record.usage is not None:
        found.update({f"wiretrace.usage.{k}": v for k, v in record.usage.to_dict().items()})
    if record.error:
        found["error.type"] = _error_type(record)
        found["wiretrace.error"] = to_json(record.error)
    properties = record.attributes.get("properties")
    if isinstance(properties, dict):
        found.update({f"wiretrace.properties.{k}": v for k, v in properties.items()})
    if record.kind == "op":
        found["wiretrace.inputs"] = to_json(record.inputs) if record.inputs is not None else None
        found["wiretrace.output"] = to_json(record.output) if record.output is not None else None
        skip = {"session_id", "user_id", "properties"}
        found.update(
            {f"wiretrace.attributes.{k}": v for k, v in record.attributes.items() if k not in skip}
        )
    return {key: value for key, value in found.items() if value is not None}


def _error_type(record: CallRecord) -> str:
    error = record.error or {}
    for key in ("type", "code"):
        if isinstance(error.get(key), str) and error[key]:
            return str(error[key])
    if record.http_status is not None and record.http_status >= 400:
        return str(record.http_status)
    return record.status


def _ended(record: CallRecord) -> datetime:
    if record.ended_at is not None:
        return record.ended_at
    return record.started_at + timedelta(milliseconds=record.latency_ms or 0)


def _nanos(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=moment.tzinfo)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def _status(record: CallRecord) -> Status:
    if record.status == "ok":
        return Status(code=Status.STATUS_CODE_OK)
    error = record.error or {}
    message = error.get("message")
    text = message if isinstance(message, str) and message else record.status
    return Status(code=Status.STATUS_CODE_ERROR, message=text[:MAX_STRING_CHARS])


def _add_exception_event(span: Span, record: CallRecord) -> None:
    error = record.error or {}
    attributes: dict[str, JSON] = {
        "exception.type": error.get("type"),
        "exception.message": error.get("message"),
        "exception.stacktrace": error.get("traceback"),
    }
    present: JSONObject = {k: v for k, v in attributes.items() if v is not None}
    event = span.events.add(time_unix_nano=_nanos(_ended(record)), name="exception")
    _fill(event.attributes, present)


def _fill(target: RepeatedCompositeFieldContainer[KeyValue], attributes: JSONObject) -> None:
    """Add ``attributes`` to ``target`` in place (building each ``KeyValue`` apart and
    copying it in costs twice the CPU), strings cut at ``MAX_STRING_CHARS``."""
    truncated: list[str] = []
    for key, value in attributes.items():
        if _set(target.add(key=key).value, value):
            truncated.append(key)
    if truncated:
        listed = target.add(key="wiretrace.truncated_attributes").value.array_value.values
        for key in truncated:
            listed.add(string_value=key)


def any_value(value: JSON) -> AnyValue:
    """A JSON value as an OTLP attribute value: a primitive as itself, a list of one
    primitive type as an array, anything else as its JSON text."""
    converted = AnyValue()
    _set(converted, value)
    return converted


def _set(target: AnyValue, value: JSON) -> bool:
    """Set ``target`` to ``value`` (as ``any_value`` says); True if a string was cut."""
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int) and -_INT64 <= value < _INT64:
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, list) and _homogeneous(value):
        values = target.array_value.values
        cut = False
        for item in value:
            cut = _set(values.add(), item) or cut
        return cut
    else:
        text = (
            value
            if isinstance(value, str)
            else str(value)
            if isinstance(value, int)
            else to_json(value)
        )
        if len(text) > MAX_STRING_CHARS:
            target.string_value = text[:MAX_STRING_CHARS]
            return True
        target.string_value = text
    return False


def _homogeneous(values: Sequence[JSON]) -> bool:
    kinds = {type(v) for v in values}
    return len(kinds) <= 1 and kinds <= {str, bool, int, float}


_SCOPE_FIELD = _field(1, SCOPE.SerializeToString())
"""``ScopeSpans.scope``, the same in every request."""
