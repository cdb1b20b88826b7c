"""Listing calls: any filter, any sort key, keyset pages, and streamed batches for export.

Why keyset pages: an ``OFFSET`` page re-reads every row before it and shifts when new calls
arrive; a cursor naming the last row seen (its sort value and id) seeks straight to the
next one through an index on ``(sort key, id)``, and rows written meanwhile can never push
a row that existed onto a page already served.

NULLs sort last in both directions (a call without a cost is neither the cheapest nor the
dearest). A page is read in two index-friendly parts rather than with ``NULLS LAST``
(which SQLite cannot serve from an index): first the rows whose sort value is set, in
``(value, id)`` order, then, if the page is not full, the rows where it is NULL, in ``id``
order. Both reads run in one transaction, so they see the same snapshot. A cursor carries
the sort it was made for; using it with another sort is refused.

Caveat: keyset paging is exact for rows whose sort value does not change. An SDK span that
is upserted from ``running`` to finished gains a latency and moves from the NULL part into
the values part, so between two pages it can be shown twice or not at all.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.storage.filters import (
    CallFilter,
    FilterError,
    apply_filters,
    probe_text_matches,
)
from wiretrace_proxy.storage.models import CALLS
from wiretrace_proxy.storage.rows import row_to_record

__all__ = [
    "DEFAULT_LIMIT",
    "DEFAULT_SORT",
    "MAX_LIMIT",
    "SORT_KEYS",
    "Cursor",
    "Page",
    "Sort",
    "fetch_page",
    "iter_batches",
    "parse_limit",
]

SORT_KEYS = (
    "started_at",
    "latency_ms",
    "ttft_ms",
    "total_tokens",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "op_name",
    "model",
    "status",
    "session_id",
    "user_id",
)
"""Columns a listing can be ordered by; ``-key`` is descending. Text sorts by code point
(SQLite's BINARY collation; on PostgreSQL the column's collation)."""
DEFAULT_SORT = "-started_at"
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
_NOT_NULL = frozenset({"started_at", "op_name", "status"})
_INTEGER = frozenset({"total_tokens", "prompt_tokens", "completion_tokens"})
_TEXT = frozenset({"op_name", "model", "status", "session_id", "user_id"})
_ID = CALLS.c.id


@dataclass(frozen=True, slots=True)
class Sort:
    """A sort key and its direction; ``str(sort)`` is the ``sort=`` parameter value."""

    key: str
    descending: bool

    @classmethod
    def parse(cls, value: str | None) -> Sort:
        text = value or DEFAULT_SORT
        key = text.removeprefix("-")
        if key not in SORT_KEYS:
            allowed = ", ".join(SORT_KEYS)
            raise FilterError(
                "sort",
                f"sort must be one of {allowed}, each optionally prefixed with '-'"
                f" for descending; got {text!r}",
            )
        return cls(key, text.startswith("-"))

    def __str__(self) -> str:
        return f"-{self.key}" if self.descending else self.key


SortValue = datetime | float | int | str | None


@dataclass(frozen=True, slots=True)
class Cursor:
    """The last row a page showed: its sort value (None in the NULL part) and id."""

    sort: Sort
    value: SortValue
    id: str

    def encode(self) -> str:
        value = self.value.isoformat() if isinstance(self.value, datetime) else self.value
        raw = json.dumps({"s": str(self.sort), "v": value, "id": self.id}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, sort: Sort) -> Cursor:
        """The cursor ``text`` names, checked against the ``sort`` of this request.

        Anything this API cannot have made is a ``FilterError`` (a 400), never a query: text
        longer than ``MAX_CURSOR``, nested JSON, ``NaN``/``Infinity``, a number no column
        holds (an integer beyond 64 bits)."""
        if len(text) > MAX_CURSOR:
            raise FilterError("cursor", "cursor is not one this API returned")
        try:
            data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            raw = json.loads(data, parse_constant=_refuse_constant)
            made_for, value, call_id = raw["s"], raw["v"], raw["id"]
        except (ValueError, TypeError, KeyError, RecursionError, binascii.Error):
            raise FilterError("cursor", "cursor is not one this API returned") from None
        if made_for != str(sort):
            raise FilterError(
                "cursor",
                f"cursor was made for sort={made_for}, this request has sort={sort}; "
                "start again without a cursor when changing the sort",
            )
        if not isinstance(call_id, str) or not _is_text(call_id):
            raise FilterError("cursor", "cursor is not one this API returned")
        return cls(sort, _cursor_value(sort.key, value), call_id)


def _cursor_value(key: str, value: object) -> SortValue:
    bad = FilterError("cursor", "cursor is not one this API returned")
    if value is None:
        if key in _NOT_NULL:
            raise bad
        return None
    if key == "started_at":
        try:
            parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise bad
        return parsed
    if key in _TEXT:
        if not isinstance(value, str) or not _is_text(value):
            raise bad
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad
    if key in _INTEGER and not isinstance(value, int):
        raise bad
    if isinstance(value, int) and not -_INT64 <= value < _INT64:
        raise bad  # no column holds it, and the driver cannot bind it
    if isinstance(value, float) and not math.isfinite(value):
        raise bad  # 1e400 reads as infinity
    return value


MAX_CURSOR = 2048
"""Characters of a cursor: one this API makes is well under it (a sort, a value, an id)."""
_INT64 = 2**63


def _is_text(value: str) -> bool:
    """Whether ``value`` can be bound as text (a lone surrogate from ``"\\ud800"`` cannot)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a cursor value")


def parse_limit(value: str | None, default: int = DEFAULT_LIMIT) -> int:
    if value is None:
        return default
    try:
        limit = int(value)
    except ValueError:
        raise FilterError("limit", f"limit must be a whole number, got {value!r}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise FilterError("limit", f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    return limit


@dataclass(frozen=True, slots=True)
class Page:
    records: list[CallRecord]
    next_cursor: str | None
    """Pass back as ``cursor=`` for the next page; None on the last page."""


Part = Literal["values", "nulls"]


_RAW_JSON_COLUMNS = [
    sa.cast(col, sa.Text).label(col.name) if isinstance(col.type, sa.JSON) else col
    for col in CALLS.c
]
"""Every column, JSON ones as their stored text (no parse and re-serialise on export)."""


def _select(
    f: CallFilter, sort: Sort, part: Part, after: Cursor | None, raw_json: bool = False
) -> sa.Select[Any]:
    """One part of the ordering, strictly after ``after`` when it points into that part."""
    column = CALLS.c[sort.key]
    stmt = apply_filters(sa.select(*_RAW_JSON_COLUMNS) if raw_json else sa.select(CALLS), f)
    keys: tuple[sa.ColumnElement[Any], ...]
    if part == "values":
        if sort.key not in _NOT_NULL:
            stmt = stmt.where(column.is_not(None))
        if after is not None and after.value is not None:
            v = after.value
            # The redundant bound (column <= v) is what lets the index seek to the cursor.
            if sort.descending:
                stmt = stmt.where(column <= v, sa.or_(column < v, _ID < after.id))
            else:
                stmt = stmt.where(column >= v, sa.or_(column > v, _ID > after.id))
        keys = (column, _ID)
    else:
        stmt = stmt.where(column.is_(None))
        if after is not None and after.value is None:
            stmt = stmt.where(_ID < after.id if sort.descending else _ID > after.id)
        keys = (_ID,)
    return stmt.order_by(*(k.desc() if sort.descending else k.asc() for k in keys))


def _parts(sort: Sort, after: Cursor | None) -> list[tuple[Part, Cursor | None]]:
    """The parts still to read, each with the cursor that applies to it."""
    if after is not None and after.value is None:
        return [("nulls", after)]
    parts: list[tuple[Part, Cursor | None]] = [("values", after)]
    if sort.key not in _NOT_NULL:
        parts.append(("nulls", None))
    return parts


def fetch_page(
    conn: Connection, f: CallFilter, sort: Sort, limit: int, after: Cursor | None = None
) -> Page:
    """Up to ``limit`` records after ``after`` in ``sort`` order, and the next cursor."""
    f = probe_text_matches(conn, f)
    rows: list[RowMapping] = []
    for part, cursor in _parts(sort, after):
        wanted = limit + 1 - len(rows)
        if wanted <= 0:
            break
        stmt = _select(f, sort, part, cursor).limit(wanted)
        rows.extend(conn.execute(stmt).mappings().all())
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = Cursor(sort, last[sort.key], last["id"]).encode()
    return Page([row_to_record(row) for row in rows[:limit]], next_cursor)


def iter_batches(
    conn: Connection, f: CallFilter, sort: Sort, batch_size: int = 500, raw_json: bool = False
) -> Iterator[list[RowMapping]]:
    """Every matching row in ``sort`` order, ``batch_size`` rows at a time, read from a
    streaming cursor (server-side on PostgreSQL) so memory does not grow with the result.

    ``raw_json`` reads JSON columns as their stored JSON text (None for SQL NULL)."""
    f = probe_text_matches(conn, f)
    streaming = conn.execution_options(stream_results=True, yield_per=batch_size)
    for part, _ in _parts(sort, None):
        result = streaming.execute(_select(f, sort, part, None, raw_json)).mappings()
        for batch in result.partitions():
            yield list(batch)
