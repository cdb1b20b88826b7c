"""``CallRecord`` <-> ``calls`` row: the one place the two shapes meet.

Both directions are derived from the dataclass's fields, so a field added to ``CallRecord``
(and to the table) needs no line here. The only reshaping is usage: one ``Usage`` on the
record, five token columns in the table (so the UI filters, sorts and sums plain columns).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.engine import RowMapping

from wiretrace_proxy.callrecord import USAGE_KEYS, CallRecord, Usage

__all__ = ["record_to_row", "row_to_record"]

_FIELDS = tuple(f.name for f in dataclasses.fields(CallRecord) if f.name != "usage")
"""Record fields stored in a column of the same name (``usage`` is spread over five)."""


def record_to_row(rec: CallRecord) -> dict[str, object]:
    """The column values for one record (usage spread over the token columns)."""
    row: dict[str, object] = {name: getattr(rec, name) for name in _FIELDS}
    usage = rec.usage
    for key in USAGE_KEYS:
        row[key] = getattr(usage, key) if usage is not None else None
    return row


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
