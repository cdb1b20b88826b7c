"""W3C ``traceparent`` (Trace Context §3.2): valid headers parse, invalid ones are None."""

from __future__ import annotations

import pytest
from wiretrace._traceparent import TraceParent, format_traceparent, parse_traceparent

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"
VALID = f"00-{TRACE}-{SPAN}-01"


def test_parses_the_spec_example() -> None:
    assert parse_traceparent(VALID) == TraceParent(TRACE, SPAN, 1)
    assert parse_traceparent(f"  {VALID}\t") == TraceParent(TRACE, SPAN, 1)


def test_format_round_trips() -> None:
    assert format_traceparent(TRACE, SPAN) == VALID
    assert format_traceparent(TRACE, SPAN, sampled=False).endswith("-00")
    parsed = parse_traceparent(format_traceparent(TRACE, SPAN, sampled=False))
    assert parsed is not None and parsed.flags == 0


def test_future_versions_may_append_fields() -> None:
    assert parse_traceparent(f"cc-{TRACE}-{SPAN}-01-what-ever") == TraceParent(TRACE, SPAN, 1)


@pytest.mark.parametrize(
    "value",
    [
        None,
        42,
        "",
        "garbage",
        VALID.upper(),
        f"00-{'0' * 32}-{SPAN}-01",
        f"00-{TRACE}-{'0' * 16}-01",
        f"ff-{TRACE}-{SPAN}-01",
        f"00-{TRACE}-{SPAN}-01-extra",
        f"00-{TRACE[:-1]}-{SPAN}-01",
        f"00-{TRACE}-{SPAN}-1",
        f"00-{TRACE}x{SPAN}-01",
        f"0g-{TRACE}-{SPAN}-01",
        f"00-{TRACE[:-1]}z-{SPAN}-01",
        f"cc-{TRACE}-{SPAN}-01x",
    ],
)
def test_invalid_headers_are_none(value: object) -> None:
    assert parse_traceparent(value) is None


def test_traceparent_value_semantics() -> None:
    a, b = TraceParent(TRACE, SPAN, 1), TraceParent(TRACE, SPAN, 1)
    assert a == b and hash(a) == hash(b) and a != TraceParent(TRACE, SPAN, 0)
    assert TRACE in repr(a) and a != "not a traceparent"
