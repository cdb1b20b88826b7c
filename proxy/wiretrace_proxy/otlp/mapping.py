"""One OTLP span -> one ``CallRecord`` in its trace.

Every span keeps its ids, times, status, name and everything it said (attributes, events,
links, resource, scope) under ``attributes["otel"]``, and is marked
``attributes["wiretrace.source"] = "otlp"``. Its kind comes from ``kinds``. An LLM span is
filled like a proxied call (``conventions``, ``messages``): models, usage, inputs as a chat
request, output as a ``chat.completion``, ttft, and a cost from the same ``Pricer``.

Project, first named wins: the ``Wiretrace-Project`` header of the export, the resource's
``wiretrace.project``, its ``service.name`` (not the SDK's ``unknown_service`` default),
the server's default project.

Secrets in the stored values are masked as a proxied call's are (``redact_json``) and
non-finite numbers are spelled as strings (``jsonsafe.finite``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from wiretrace_proxy import jsonsafe
from wiretrace_proxy.callrecord import JSON, CallRecord, JSONObject
from wiretrace_proxy.otlp import SOURCE, SOURCE_KEY, SPAN_KEY
from wiretrace_proxy.otlp.conventions import llm_facts
from wiretrace_proxy.otlp.kinds import kind_of
from wiretrace_proxy.otlp.messages import llm_inputs, llm_output
from wiretrace_proxy.record.pricing import Pricer
from wiretrace_proxy.record.redact import redact_json

if TYPE_CHECKING:  # (spans loads protobuf: the receiver imports it on its first export)
    from wiretrace_proxy.otlp.spans import OtlpSpan

__all__ = ["Mapper", "project_of"]


def project_of(span: OtlpSpan, header: str | None, default: str) -> str:
    """The project a span is filed under (see the module docstring)."""
    for value in (
        header,
        span.resource.get("wiretrace.project"),
        span.resource.get("service.name"),
    ):
        if isinstance(value, str) and value.strip() and not value.startswith("unknown_service"):
            return value.strip()
    return default


@dataclass(slots=True)
class Mapper:
    """Spans to records for one server: its default project and its pricer."""

    default_project: str
    pricer: Pricer | None = None

    def record(self, span: OtlpSpan, header_project: str | None = None) -> CallRecord:
        kind = kind_of(span.attributes)
        record = CallRecord(
            id=span.span_id,
            project=project_of(span, header_project, self.default_project),
            trace_id=span.trace_id,
            parent_id=span.parent_id,
            op_name=span.name or "span",
            started_at=span.started_at,
            ended_at=span.ended_at,
            latency_ms=_latency(span),
            status="error" if span.status_code == "ERROR" else "ok",
            error=_error(span),
            kind=kind,
            attributes=_attributes(span),
        )
        if kind == "llm":
            self._fill_llm(record, span)
        record.inputs = _stored(record.inputs)
        record.output = _stored(record.output)
        return record

    def _fill_llm(self, record: CallRecord, span: OtlpSpan) -> None:
        facts = llm_facts(span.attributes)
        record.model = facts.model
        record.response_model = facts.response_model
        record.usage = facts.usage
        record.usage_source = "upstream" if facts.usage is not None else None
        record.ttft_ms = facts.ttft_ms
        record.session_id = facts.session_id
        record.user_id = facts.user_id
        record.inputs = llm_inputs(span.attributes, span.events, facts)
        record.output = llm_output(span.attributes, span.events, facts)
        if facts.response_id:
            otel = record.attributes[SPAN_KEY]
            assert isinstance(otel, dict)
            otel["response_id"] = facts.response_id
        if self.pricer is not None and facts.usage is not None:
            record.cost_usd = self.pricer.price_call(
                facts.model,
                facts.response_model,
                facts.usage,
                at=span.started_at,
                output=record.output,
                upstream=facts.upstream,
            ).cost_usd


def _latency(span: OtlpSpan) -> float | None:
    if span.ended_at is None:
        return None
    return round((span.ended_at - span.started_at).total_seconds() * 1000, 3)


def _error(span: OtlpSpan) -> JSONObject | None:
    if span.status_code != "ERROR":
        return None
    kind = span.attributes.get("error.type")
    message: JSON = span.status_message or None
    for event in span.events:
        if event.get("name") == "exception" and isinstance(event.get("attributes"), dict):
            details = event["attributes"]
            assert isinstance(details, dict)
            kind = kind or details.get("exception.type")
            message = message or details.get("exception.message")
    error: JSONObject = {"message": message, "type": kind, "code": None}
    stored = _stored(error)
    assert isinstance(stored, dict)
    return stored


def _attributes(span: OtlpSpan) -> JSONObject:
    otel: JSONObject = {
        "span_id": span.span_id,
        "kind": span.kind,
        "attributes": span.attributes,
        "status": {"code": span.status_code, "message": span.status_message},
        "resource": span.resource,
        "scope": span.scope,
    }
    if span.events:
        otel["events"] = list(span.events)
    if span.links:
        otel["links"] = list(span.links)
    if span.trace_state:
        otel["trace_state"] = span.trace_state
    stored = _stored({SOURCE_KEY: SOURCE, SPAN_KEY: otel})
    assert isinstance(stored, dict)
    return stored


def _stored(value: JSON) -> JSON:
    finite, _ = jsonsafe.finite(value)
    return redact_json(finite)
