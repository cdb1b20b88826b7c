"""SDK span events -> records and versions (pure: validation and conversion only).

The wire format is the SDK's (``sdk/wiretrace/_exporter.py``): each span arrives twice, at
its start (``status: running``) and its end, in either order, children before parents. A
bad event is refused with a message that names the field and the event's index, so an SDK
bug is visible instead of silently losing spans: a value nested deeper than
``jsonsafe.MAX_DEPTH``, or a string holding a lone surrogate (no database can store one as
text), is refused the same way.

A span's ``inputs``, ``output``, ``attributes`` and ``error`` are stored as a proxied
call's bodies are: secrets masked (``redact.redact_json``) and always valid JSON. A
non-finite number in them becomes ``"NaN"``, ``"Infinity"`` or ``"-Infinity"`` (the SDK's
own spelling) and ``attributes.nonfinite`` lists the fields that had one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from wiretrace_proxy import jsonsafe
from wiretrace_proxy.callrecord import JSON, STATUSES, CallRecord, JSONObject
from wiretrace_proxy.record.redact import redact_json
from wiretrace_proxy.storage.versions import ModelVersionRow, OpVersionRow
from wiretrace_proxy.timestamps import parse_utc

_HEX16 = re.compile(r"^[0-9a-f]{16}$")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
MAX_SPANS = 10_000


class SpanError(ValueError):
    """An event that cannot be stored; ``param`` names it like ``spans[3].trace_id``."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass(slots=True)
class SpanBatch:
    records: list[CallRecord] = field(default_factory=list)
    op_versions: list[OpVersionRow] = field(default_factory=list)
    model_versions: list[ModelVersionRow] = field(default_factory=list)


def parse_spans(body: JSON, default_project: str, now: datetime) -> SpanBatch:
    if not isinstance(body, dict) or not isinstance(body.get("spans"), list):
        raise SpanError("spans", 'body must be a JSON object {"spans": [...]}')
    events = body["spans"]
    assert isinstance(events, list)
    if len(events) > MAX_SPANS:
        raise SpanError("spans", f"at most {MAX_SPANS} spans per request, got {len(events)}")
    batch = SpanBatch()
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise SpanError(f"spans[{index}]", "each span must be a JSON object")
        _add(batch, event, f"spans[{index}]", default_project, now)
    return batch


def _add(batch: SpanBatch, event: JSONObject, at: str, default_project: str, now: datetime) -> None:
    for key, value in event.items():
        _check_value(value, f"{at}.{key}")
    _check_text(list(event), at)
    span_id = _match(event, "id", _HEX16, at, required=True)
    trace_id = _match(event, "trace_id", _HEX32, at, required=True)
    parent_id = _match(event, "parent_id", _HEX16, at, required=False)
    op_name = _text(event, "op_name", at, required=True)
    project = _text(event, "project", at, required=False) or default_project
    status = event.get("status", "running")
    if status not in STATUSES:
        raise SpanError(f"{at}.status", f"status must be one of {', '.join(STATUSES)}")
    started = _time(event, "started_at", at, required=True)
    ended = _time(event, "ended_at", at, required=False)
    assert started is not None and span_id and trace_id and op_name
    # A version is dated by the first span that ran it, so versions number in run order.
    first_run = min(started, now)
    op_version = _op_version(batch, event.get("op_version"), project, op_name, at, first_run)
    model_version = _model_version(batch, event.get("model_version"), project, at, first_run)
    attributes = event.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise SpanError(f"{at}.attributes", "attributes must be an object")
    spelled: list[JSON] = []
    inputs = _stored(event.get("inputs"), "inputs", spelled)
    output = _stored(event.get("output"), "output", spelled)
    given_error = _error(event.get("error"), at)
    error = _stored(given_error, "error", spelled) if given_error is not None else None
    stored_attributes = _stored(attributes, "attributes", spelled)
    assert isinstance(error, dict | None) and isinstance(stored_attributes, dict)
    if spelled:
        stored_attributes = {**stored_attributes, "nonfinite": spelled}
    batch.records.append(
        CallRecord(
            id=span_id,
            project=project,
            trace_id=trace_id,
            parent_id=parent_id,
            op_name=op_name,
            display_name=_text(event, "display_name", at, required=False),
            started_at=started,
            ended_at=ended,
            latency_ms=round((ended - started).total_seconds() * 1000, 3) if ended else None,
            status=status,  # checked against STATUSES above
            inputs=inputs,
            output=output,
            error=error,
            attributes=stored_attributes,
            kind="op",
            op_version=op_version,
            model_version=model_version,
        )
    )


def _stored(value: JSON, name: str, spelled: list[JSON]) -> JSON:
    """A span field as a record keeps it: non-finite numbers spelled (``name`` is added to
    ``spelled`` if there was one), then secrets masked."""
    value, changed = jsonsafe.finite(value)
    if changed:
        spelled.append(name)
    return redact_json(value)


def _check_value(value: JSON, at: str) -> None:
    """Refuse a value nested deeper than ``jsonsafe.MAX_DEPTH`` or holding a lone
    surrogate in a string or a key (iterative: any depth is safe to check)."""
    stack: list[tuple[JSON, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text([item], at)
            continue
        if isinstance(item, dict):
            _check_text(list(item), at)
            children: list[JSON] = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= jsonsafe.MAX_DEPTH:
            raise SpanError(
                at, f"{at} nests deeper than {jsonsafe.MAX_DEPTH} levels of arrays and objects"
            )
        stack.extend((child, depth + 1) for child in children)


def _check_text(texts: list[str], at: str) -> None:
    for text in texts:
        if text.isascii():
            continue
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise SpanError(
                at,
                f"{at} holds a lone surrogate (\\u{ord(text[_surrogate(text)]):04x}), "
                "which is not text",
            ) from None


def _surrogate(text: str) -> int:
    return next(i for i, char in enumerate(text) if 0xD800 <= ord(char) <= 0xDFFF)


def _match(
    event: JSONObject, key: str, pattern: re.Pattern[str], at: str, required: bool
) -> str | None:
    value = event.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not pattern.match(value):
        shape = "16" if pattern is _HEX16 else "32"
        raise SpanError(f"{at}.{key}", f"{key} must be {shape} lowercase hex digits")
    return value


def _text(event: JSONObject, key: str, at: str, required: bool) -> str | None:
    value = event.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise SpanError(f"{at}.{key}", f"{key} must be a non-empty string")
    return value


def _time(event: JSONObject, key: str, at: str, required: bool) -> datetime | None:
    value = event.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise SpanError(f"{at}.{key}", f"{key} must be an ISO 8601 time")
    try:
        return parse_utc(value)
    except ValueError:
        raise SpanError(f"{at}.{key}", f"{key} is not an ISO 8601 time: {value!r}") from None


def _error(value: JSON, at: str) -> JSONObject | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise SpanError(f"{at}.error", "error must be an object {type, message, traceback}")
    return {
        "message": value.get("message"),
        "type": value.get("type"),
        "code": None,
        "traceback": value.get("traceback"),
    }


def _op_version(
    batch: SpanBatch, value: JSON, project: str, op_name: str, at: str, now: datetime
) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("digest"), str):
        raise SpanError(f"{at}.op_version", "op_version must be an object with a digest")
    digest = str(value["digest"])
    module, qualname = value.get("module"), value.get("qualname")
    batch.op_versions.append(
        OpVersionRow(
            project=project,
            op_name=op_name,
            digest=digest,
            source=str(value.get("source") or ""),
            module=module if isinstance(module, str) else None,
            qualname=qualname if isinstance(qualname, str) else None,
            created_at=now,
        )
    )
    return digest


def _model_version(
    batch: SpanBatch, value: JSON, project: str, at: str, now: datetime
) -> str | None:
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("digest"), str)
        or not isinstance(value.get("name"), str)
    ):
        raise SpanError(f"{at}.model_version", "model_version must have a name and a digest")
    digest = str(value["digest"])
    batch.model_versions.append(
        ModelVersionRow(
            project=project,
            name=str(value["name"]),
            digest=digest,
            attributes=value.get("attributes"),
            source=value.get("source"),
            created_at=now,
        )
    )
    return digest
