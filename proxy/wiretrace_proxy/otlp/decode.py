"""An OTLP/HTTP traces body (protobuf or JSON) as an ``ExportTraceServiceRequest``.

Protobuf is parsed by ``opentelemetry-proto``'s generated classes. OTLP/JSON is proto3
JSON with one deviation, which ``json_format`` alone would refuse: trace and span ids are
hex strings (any case), not base64. Ids are rewritten to base64 before ``ParseDict``;
an id already in base64 (old collectors sent that) is kept, so both are accepted. Enums
as integers, 64-bit integers as strings or numbers and unknown fields are what
``json_format`` already takes (``ignore_unknown_fields``).

A logs or metrics export sent to the traces path is refused with a message saying so
(``WrongSignal``): in protobuf, ``ResourceLogs`` and ``ResourceSpans`` share field
numbers, so a logs payload would otherwise decode into spans without ids.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from wiretrace_proxy.otlp.media import JSON_TYPE, PROTOBUF_TYPE, BadPayload, WrongSignal, media_type

__all__ = [
    "JSON_TYPE",
    "PROTOBUF_TYPE",
    "BadPayload",
    "WrongSignal",
    "decode_request",
    "encode_response",
    "media_type",
]

_HEX = re.compile(r"^[0-9a-fA-F]*$")
_ID_KEYS = ("traceId", "spanId", "parentSpanId")
_OTHER_SIGNALS = {
    "resourceLogs": "logs",
    "resource_logs": "logs",
    "resourceMetrics": "metrics",
    "resource_metrics": "metrics",
    "resourceProfiles": "profiles",
}


def decode_request(body: bytes, media: str) -> ExportTraceServiceRequest:
    """The export request in ``body``; ``BadPayload`` (or ``WrongSignal``) if it is not one."""
    if media == JSON_TYPE:
        return _from_json(body)
    message = ExportTraceServiceRequest()
    try:
        message.ParseFromString(body)
    except (DecodeError, RecursionError) as exc:
        if _is_logs(body):
            raise WrongSignal(_WRONG_SIGNAL.format(what="an OTLP logs export")) from None
        raise BadPayload(f"body is not a protobuf ExportTraceServiceRequest: {exc}") from None
    _check_not_logs(message)
    return message


def encode_response(response: ExportTraceServiceResponse, media: str) -> bytes:
    """The answer in the request's encoding, as the specification requires."""
    if media == JSON_TYPE:
        return json_format.MessageToJson(response, indent=None).encode()
    return response.SerializeToString()


def _from_json(body: bytes) -> ExportTraceServiceRequest:
    try:
        data = json.loads(body)
    except RecursionError:
        raise BadPayload("body is nested too deep to read") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadPayload(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadPayload('body must be a JSON object {"resourceSpans": [...]}')
    for key, signal in _OTHER_SIGNALS.items():
        if key in data:
            raise WrongSignal(
                f"body is an OTLP {signal} export ({key}); this endpoint takes traces "
                f"(resourceSpans): send {signal} to /v1/{signal} of a collector, not here"
            )
    spans = data.get("resourceSpans", data.get("resource_spans", []))
    if not isinstance(spans, list):
        raise BadPayload("resourceSpans must be an array")
    for resource in spans:
        for scope in _items(resource, "scopeSpans", "scope_spans"):
            for span in _items(scope, "spans"):
                _ids_to_base64(span)
                for link in _items(span, "links"):
                    _ids_to_base64(link)
    message = ExportTraceServiceRequest()
    try:
        json_format.ParseDict(data, message, ignore_unknown_fields=True)
    except (json_format.ParseError, RecursionError, TypeError, ValueError) as exc:
        raise BadPayload(f"body is not an OTLP/JSON ExportTraceServiceRequest: {exc}") from None
    return message


def _items(parent: Any, *keys: str) -> list[Any]:
    if not isinstance(parent, dict):
        return []
    for key in keys:
        value = parent.get(key)
        if isinstance(value, list):
            return value
    return []


def _ids_to_base64(item: Any) -> None:
    """Hex ids (the OTLP/JSON spelling) rewritten as proto3 JSON's base64, in place; base64
    ids are kept; anything else becomes empty, so that span alone is rejected (a bad id)."""
    if not isinstance(item, dict):
        return
    for key in _ID_KEYS:
        value = item.get(key)
        if not isinstance(value, str):
            continue
        if len(value) in (16, 32) and _HEX.match(value):
            item[key] = base64.b64encode(bytes.fromhex(value)).decode()
            continue
        try:
            base64.b64decode(value, validate=True)
        except (ValueError, binascii.Error):
            item[key] = ""


_WRONG_SIGNAL = (
    "body is {what}; this endpoint takes traces (ExportTraceServiceRequest): send logs and "
    "metrics to a collector's /v1/logs or /v1/metrics, not here"
)


def _is_logs(body: bytes) -> bool:
    logs = ExportLogsServiceRequest()
    try:
        logs.ParseFromString(body)
    except (DecodeError, RecursionError):
        return False
    return any(sl.log_records for rl in logs.resource_logs for sl in rl.scope_logs)


def _check_not_logs(message: ExportTraceServiceRequest) -> None:
    """Refuse a protobuf logs or metrics export: decoded as traces, its records become
    spans whose ids are missing or of the wrong length (a log record's time and severity,
    a metric's name and description sit where a span's ids do)."""
    spans = [s for rs in message.resource_spans for ss in rs.scope_spans for s in ss.spans]
    if spans and not any(len(s.trace_id) == 16 and len(s.span_id) == 8 for s in spans):
        what = (
            f"{len(spans)} spans none of which has a 16-byte trace id and an 8-byte span "
            "id, which is what an OTLP logs or metrics export decoded as traces looks like"
        )
        raise WrongSignal(_WRONG_SIGNAL.format(what=what))
