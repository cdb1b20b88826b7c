"""Identifiers in W3C trace-context shapes (16 hex span ids, 32 hex trace ids).

Ids come from ``random.getrandbits`` (as OpenTelemetry's Python SDK makes them), not
``os.urandom``: they must be unique, not unguessable, and ``os.urandom`` is a ``getrandom``
system call per id, once on the request path (the call id) and once on the writer's thread
(the trace id) for every call. An all-zero id is invalid (W3C), so one is never returned.
"""

from __future__ import annotations

import random
import re

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_bits = random.getrandbits


def new_span_id() -> str:
    return f"{_bits(64) or 1:016x}"


def new_trace_id() -> str:
    return f"{_bits(128) or 1:032x}"


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
