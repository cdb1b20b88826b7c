"""``CallRecord`` <-> ``calls`` row: the one place the two shapes meet.

Both directions are derived from the dataclass's fields, so a field added to ``CallRecord``
(and to the table) needs no line here. The only reshaping is usage: one ``Usage`` on the
record, five token columns in the table (so the UI filters, sorts and sums plain columns).
Two columns have no field: ``merge_key``, derived from the record (``merge_key_of``), and
``inputs_key_order``, bound with the inputs, whose column type keeps only their key order.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.engine import RowMapping

from wiretrace_proxy.callrecord import USAGE_KEYS, CallRecord, Usage

__all__ = ["SPAN_KEY_PREFIX", "merge_key_of", "record_to_row", "response_id_of", "row_to_record"]

SPAN_KEY_PREFIX = "span:"
"""``merge_key`` of an ingested LLM span: this, then its response id."""

_FIELDS = tuple(f.name for f in dataclasses.fields(CallRecord) if f.name != "usage")
"""Record fields stored in a column of the same name (``usage`` is spread over five)."""


def record_to_row(rec: CallRecord) -> dict[str, object]:
    """The column values for one record (usage spread over the token columns)."""
    row: dict[str, object] = {name: getattr(rec, name) for name in _FIELDS}
    usage = rec.usage
    for key in USAGE_KEYS:
        row[key] = getattr(usage, key) if usage is not None else None
    row["merge_key"] = merge_key_of(rec)
    row["inputs_key_order"] = rec.inputs  # its column type keeps the order (``key_order``)
    return row


def merge_key_of(rec: CallRecord) -> str | None:
    """``merge_key``: a proxied LLM call's response id, ``span:<id>`` for an ingested LLM
    span's (``storage/llm_merge.py``), None for the rest."""
    found = response_id_of(rec)
    if found is None:
        return None
    return SPAN_KEY_PREFIX + found if rec.attributes.get("wiretrace.source") == "otlp" else found


def response_id_of(rec: CallRecord) -> str | None:
    """The upstream response's id an LLM record carries: an ingested span's
    ``gen_ai.response.id`` (kept as ``attributes.otel.response_id``), else the ``id`` of
    the response body (a proxied call's ``chatcmpl-...`` or ``resp_...``)."""
    if rec.kind != "llm":
        return None
    otel = rec.attributes.get("otel")
    if rec.attributes.get("wiretrace.source") == "otlp" and isinstance(otel, dict):
        found = otel.get("response_id")
        return found if isinstance(found, str) and found else None
    output = rec.output
    found = output.get("id") if isinstance(output, dict) else None
    return found if isinstance(found, str) and found else None


def row_to_record(row: RowMapping) -> CallRecord:
    """A ``CallRecord`` from a ``calls`` row mapping.

    ``usage`` is None when every token column is NULL (a stored ``Usage()`` with no counts
    reads back as None); NULL attributes read back as ``{}``.
    """
    tokens = {key: row[key] for key in USAGE_KEYS}
    usage = Usage(**tokens) if any(v is not None for v in tokens.values()) else None
    values: dict[str, Any] = {name: row[name] for name in _FIELDS}
    values["attributes"] = values["attributes"] or {}
    return CallRecord(usage=usage, **values)
