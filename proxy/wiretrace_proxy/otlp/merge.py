"""One LLM call, one record: which values win when an ingested LLM span and the proxied
call of the same request are folded together (pure; ``storage/llm_merge.py`` finds the
pairs and writes the result).

The proxy saw the wire, the span saw the app. So the record keeps the proxied call's id
(what ``Wiretrace-Call-Id`` named, what feedback points at), its exact request and
response bodies, usage, cost, times, status and model; and takes the span's place in the
app's trace (trace id, parent, project), its name as the display name when the call had
none, its session and user when the call had none, and what the span said under
``attributes["otel"]`` (with the span's id, and ``merged_by: "heuristic"`` when the two
were paired by likeness alone, ``otlp.likeness``). The result is not marked as ingested:
it is the proxied call, exported as such.
"""

from __future__ import annotations

import dataclasses

from wiretrace_proxy.callrecord import CallRecord, JSONObject
from wiretrace_proxy.otlp import SOURCE, SOURCE_KEY, SPAN_KEY

__all__ = ["HEURISTIC", "fold", "is_ingested"]


def is_ingested(record: CallRecord) -> bool:
    """Whether ``record`` came in over OTLP (and was not folded into a proxied call)."""
    return record.attributes.get(SOURCE_KEY) == SOURCE


HEURISTIC = "heuristic"
"""``attributes.otel.merged_by`` of a call folded with a span by likeness alone."""


def fold(call: CallRecord, span: CallRecord, *, guessed: bool = False) -> CallRecord:
    """``call`` (proxied) with ``span``'s context (see the module docstring); ``guessed``:
    the pair was found by likeness alone. Folding the same span again (it was sent again)
    keeps the mark."""
    attributes = dict(call.attributes)
    before = attributes.get(SPAN_KEY)
    guessed = guessed or (isinstance(before, dict) and before.get("merged_by") == HEURISTIC)
    otel = span.attributes.get(SPAN_KEY)
    if isinstance(otel, dict):
        said: JSONObject = {**otel, "span_id": span.id, "name": span.op_name}
        if guessed:
            said["merged_by"] = HEURISTIC
        attributes[SPAN_KEY] = said
    return dataclasses.replace(
        call,
        trace_id=span.trace_id,
        parent_id=span.parent_id,
        project=span.project,
        display_name=call.display_name or span.op_name,
        model=call.model or span.model,
        response_model=call.response_model or span.response_model,
        ttft_ms=call.ttft_ms if call.ttft_ms is not None else span.ttft_ms,
        usage=call.usage if call.usage is not None else span.usage,
        usage_source=call.usage_source if call.usage is not None else span.usage_source,
        cost_usd=call.cost_usd if call.cost_usd is not None else span.cost_usd,
        inputs=call.inputs if call.inputs is not None else span.inputs,
        output=call.output if call.output is not None else span.output,
        session_id=call.session_id or span.session_id,
        user_id=call.user_id or span.user_id,
        attributes=attributes,
        kind="llm",
    )
