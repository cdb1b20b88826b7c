"""Identifiers in W3C trace-context shapes (16 hex span ids, 32 hex trace ids)."""

from __future__ import annotations

import os
import re

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def new_span_id() -> str:
    return os.urandom(8).hex()


def new_trace_id() -> str:
    return os.urandom(16).hex()


def parse_traceparent(value: str | None) -> tuple[str, str] | None:
    """(trace_id, parent span id) from a W3C ``traceparent``; None if absent or malformed.

    Per the spec, version ``ff`` and all-zero ids are invalid; unknown future versions are
    accepted for their first four fields.
    """
    if not value:
        return None
    match = _TRACEPARENT.match(value.strip().lower()[:55])
    if match is None:
        return None
    version, trace_id, span_id, _flags = match.groups()
    if version == "ff" or trace_id == "0" * 32 or span_id == "0" * 16:
        return None
    return trace_id, span_id
