"""W3C Trace Context ``traceparent`` header: format and parse.

Why its own module: the header is the one contract that links SDK spans, proxied calls and
apps in other languages (OpenTelemetry, curl, Node), so its rules live in one pure, tested
place. Parsing is strict about what it accepts and never raises: an invalid header is
``None`` (the caller then starts a new trace), as the W3C spec asks.

Format (version ``00``): ``00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>``, lowercase,
neither id all zeros. Higher versions may append ``-<more>`` fields, which are ignored;
version ``ff`` is invalid.
"""

from __future__ import annotations

__all__ = ["TraceParent", "format_traceparent", "parse_traceparent"]

_HEX = frozenset("0123456789abcdef")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


class TraceParent:
    """A parsed ``traceparent``: the remote parent of the next span.

    A plain slotted class rather than a ``NamedTuple`` so that ``import wiretrace`` does not
    pay for importing ``typing``.
    """

    __slots__ = ("flags", "span_id", "trace_id")

    def __init__(self, trace_id: str, span_id: str, flags: int) -> None:
        self.trace_id = trace_id
        """32 lowercase hex characters, not all zero."""
        self.span_id = span_id
        """16 lowercase hex characters, not all zero (the header's ``parent-id``)."""
        self.flags = flags
        """Trace flags; bit 0 is ``sampled``."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TraceParent):
            return NotImplemented
        return (self.trace_id, self.span_id, self.flags) == (
            other.trace_id,
            other.span_id,
            other.flags,
        )

    def __hash__(self) -> int:
        return hash((self.trace_id, self.span_id, self.flags))

    def __repr__(self) -> str:
        return f"TraceParent({self.trace_id!r}, {self.span_id!r}, {self.flags})"


def format_traceparent(trace_id: str, span_id: str, sampled: bool = True) -> str:
    """Return the version-00 header naming ``span_id`` of ``trace_id`` as the parent."""
    return f"00-{trace_id}-{span_id}-{'01' if sampled else '00'}"


def _is_hex(value: str, length: int) -> bool:
    return len(value) == length and _HEX.issuperset(value)


def parse_traceparent(value: object) -> TraceParent | None:
    """Parse a ``traceparent`` header value; anything invalid gives ``None``."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if len(value) < 55:
        return None
    version = value[:2]
    if not _is_hex(version, 2) or version == "ff":
        return None
    if version == "00" and len(value) != 55:
        return None
    if len(value) > 55 and value[55] != "-":
        return None
    parts = value[:55].split("-")
    if len(parts) != 4:
        return None
    _, trace_id, span_id, flags = parts
    if not (_is_hex(trace_id, 32) and _is_hex(span_id, 16) and _is_hex(flags, 2)):
        return None
    if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return TraceParent(trace_id, span_id, int(flags, 16))
