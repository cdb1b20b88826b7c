"""``CallRecord`` <-> bytes for the on-disk spool (``storage/spool.py``).

A record is one JSON array: its field values in the order a schema names them, with the
datetimes as ISO 8601 text (offset included, so a timezone-aware value comes back aware
and equal) and ``usage`` as an array of its token counts (or null). The schema is written
once at the head of every segment (``schema_payload``) and read back with
``RecordCodec.from_schema``, so a segment written by an older version (a field since
added: it takes its default) or a newer one (a field this version does not know: dropped)
is still read after an upgrade or a downgrade.

Why the standard library's ``json`` (C encoder and scanner) rather than orjson: it keeps
every value a record may hold exactly. orjson writes a non-finite float as ``null``
without a word and refuses lone surrogates and integers beyond 64 bits, all of which a
recorded body can hold; ``json`` with ``ensure_ascii`` writes ``NaN``/``Infinity`` (read
back as the same floats), ``\\udXXX`` escapes for surrogates, and integers of any size,
and its output is ASCII, which the spool's framing relies on (see ``spool.py``). At ~2 KB
a record it costs a few microseconds each way, far below the database insert the spool
stands in for.

What JSON cannot keep is what the database would not keep either: tuples come back as
lists and non-string object keys as strings. A value ``json`` cannot write at all (an
object of another type, a circular reference, nesting beyond the recursion limit) makes
``encode`` raise ``SpoolCodecError``; the spool counts that record lost.
"""

from __future__ import annotations

import dataclasses
import json
import operator
import types
import typing
from collections.abc import Callable
from datetime import datetime
from typing import Any

from wiretrace_proxy.callrecord import USAGE_KEYS, CallRecord, Usage

__all__ = ["FORMAT", "RecordCodec", "SpoolCodecError", "schema_payload"]

FORMAT = 1
"""The record encoding's version, written in every segment's schema."""


class SpoolCodecError(ValueError):
    """A record that cannot be encoded, or a payload that is not a record of the schema."""


def _holds(annotation: Any, kind: type) -> bool:
    """Whether a field's type is ``kind`` or an optional/union containing it."""
    if annotation is kind:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return kind in typing.get_args(annotation)
    return False


_HINTS = typing.get_type_hints(CallRecord)
_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(CallRecord))
_DATETIMES = frozenset(name for name in _FIELDS if _holds(_HINTS[name], datetime))
_USAGES = frozenset(name for name in _FIELDS if _holds(_HINTS[name], Usage))
_REQUIRED = frozenset(
    f.name
    for f in dataclasses.fields(CallRecord)
    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
)

_dumps: Callable[[Any], str] = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=True, allow_nan=True
).encode
"""Compact, ASCII-only JSON; non-finite floats as ``NaN``/``Infinity``, which ``json``
reads back as the same floats."""


def schema_payload() -> bytes:
    """The schema entry of a new segment: this version's field order (ASCII JSON)."""
    schema = {"format": FORMAT, "fields": list(_FIELDS), "usage": list(USAGE_KEYS)}
    return _dumps(schema).encode("ascii")


def _usage_to_list(usage: Usage) -> list[int | None]:
    return [getattr(usage, key) for key in USAGE_KEYS]


class RecordCodec:
    """Encodes records with this version's schema, decodes those of a segment's schema."""

    __slots__ = ("_conversions", "_get", "_names", "_positional", "_usage_keys", "_width")

    def __init__(self, names: tuple[str, ...], usage_keys: tuple[str, ...]) -> None:
        self._names = names
        self._usage_keys = usage_keys
        self._width = len(names)
        # The schema is this version's own: values map to CallRecord(*values) as they are.
        self._positional = names == _FIELDS and usage_keys == USAGE_KEYS
        self._get = operator.attrgetter(*_FIELDS)
        self._conversions = tuple(
            (i, name in _DATETIMES)
            for i, name in enumerate(names)
            if name in _DATETIMES or name in _USAGES
        )

    @classmethod
    def current(cls) -> RecordCodec:
        """The codec of this version's schema (the one ``schema_payload`` writes)."""
        return cls(_FIELDS, USAGE_KEYS)

    @classmethod
    def from_schema(cls, payload: bytes) -> RecordCodec:
        """The codec for a segment whose schema entry is ``payload``.

        Raises ``SpoolCodecError`` if it is not a schema this version can read (another
        ``format``, or not the shape ``schema_payload`` writes).
        """
        try:
            schema = json.loads(payload)
        except ValueError as exc:
            raise SpoolCodecError(f"schema is not JSON: {exc}") from None
        if not isinstance(schema, dict) or schema.get("format") != FORMAT:
            raise SpoolCodecError("not a spool schema of format 1")
        names, usage = schema.get("fields"), schema.get("usage")
        if not _strings(names) or not _strings(usage):
            raise SpoolCodecError("spool schema without field names")
        if not _REQUIRED <= set(names):
            raise SpoolCodecError("spool schema lacks a required record field")
        return cls(tuple(names), tuple(usage))

    def encode(self, record: CallRecord) -> bytes:
        """The record as ASCII JSON; ``SpoolCodecError`` if a value cannot be written."""
        if not self._positional:
            raise SpoolCodecError("records are encoded with the current schema only")
        row = list(self._get(record))
        try:
            for i, is_datetime in self._conversions:
                value = row[i]
                if value is not None:
                    row[i] = value.isoformat() if is_datetime else _usage_to_list(value)
            return _dumps(row).encode("ascii")
        except Exception as exc:  # fail-open boundary: any value json cannot write
            why = f"{type(exc).__name__}: {exc}".splitlines()[0]
            raise SpoolCodecError(f"record {record.id!r} cannot be spooled: {why}") from None

    def decode(self, payload: bytes) -> CallRecord:
        """The record in ``payload``; ``SpoolCodecError`` if it is not one of this schema."""
        try:
            row = json.loads(payload)
            if not isinstance(row, list) or len(row) != self._width:
                raise SpoolCodecError("payload is not a record of this segment's schema")
            for i, is_datetime in self._conversions:
                value = row[i]
                if value is not None:
                    row[i] = datetime.fromisoformat(value) if is_datetime else self._usage(value)
            if self._positional:
                return CallRecord(*row)
            values = {n: v for n, v in zip(self._names, row, strict=True) if n in _HINTS}
            return CallRecord(**values)
        except SpoolCodecError:
            raise
        except Exception as exc:  # fail-open boundary: a payload of any shape
            why = f"{type(exc).__name__}: {exc}".splitlines()[0]
            raise SpoolCodecError(f"payload is not a record: {why}") from None

    def _usage(self, value: Any) -> Usage:
        if not isinstance(value, list) or len(value) != len(self._usage_keys):
            raise SpoolCodecError("usage is not an array of token counts")
        if self._positional:
            return Usage(*value)
        counts = dict(zip(self._usage_keys, value, strict=True))
        return Usage(**{key: counts.get(key) for key in USAGE_KEYS})


def _strings(value: object) -> typing.TypeGuard[list[str]]:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)
