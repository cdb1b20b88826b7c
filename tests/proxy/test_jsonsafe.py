"""``jsonsafe.read_json`` and ``jsonsafe.loads``: msgspec reads, ``json`` decides.

msgspec reads nearly every body; whatever it refuses is read again by ``json``. Each case
below is one msgspec refuses or could read differently, and each must come out exactly as
the standard library's reading (the same value and types, or the same exception and
message), so the fast path changes nothing a record stores.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wiretrace_proxy import jsonsafe

FALLBACK_INPUTS: list[bytes] = [
    b"NaN",
    b'{"lp": [-Infinity, Infinity, NaN]}',
    b"1e999",
    b"[-1.8e308]",
    b"1" + b"0" * 309,  # an int: json reads it exactly
    b"1" + b"0" * 309 + b".0",  # a float that overflows
    b'"\\ud800"',  # a lone surrogate escape
    b'"\xed\xa0\x80"',  # an encoded surrogate (json decodes with surrogatepass)
    b"\xef\xbb\xbf{}",  # a UTF-8 byte order mark
    "[1]".encode("utf-16"),
    b"[" * 2000 + b"]" * 2000,  # deeper than msgspec follows
    b"123456789012345678901234567890",  # beyond 64 bits: exact, never a float
    b"-9223372036854775809",
    b"18446744073709551616",
    b'{"a": 1, "b": 2, "a": 3}',  # duplicate keys: the last value, the first place
    b"-0",
    b"-0.0",
    b"4.9e-324",
    b"1e-400",
]
INVALID_INPUTS: list[bytes] = [b"", b" ", b"01", b"[1,]", b'"\x01"', b"\xff", b"[1]x", b"{"]


def _same(a: Any, b: Any) -> bool:
    """Equal with the same types throughout (1 is not 1.0, -0.0 is not 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _outcome(read: Any, data: bytes | str) -> tuple[str, Any]:
    try:
        return "value", read(data)
    except (ValueError, RecursionError) as exc:
        return type(exc).__name__, str(exc)


@pytest.mark.parametrize("data", FALLBACK_INPUTS + INVALID_INPUTS)
def test_read_json_reads_as_json_does(data: bytes) -> None:
    got, want = _outcome(jsonsafe.read_json, data), _outcome(json.loads, data)
    assert got[0] == want[0]
    assert _same(got[1], want[1]) if got[0] == "value" else got == want


@pytest.mark.parametrize("data", FALLBACK_INPUTS + INVALID_INPUTS)
def test_read_json_reads_text_as_json_does(data: bytes) -> None:
    try:
        text = data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return
    got, want = _outcome(jsonsafe.read_json, text), _outcome(json.loads, text)
    assert got[0] == want[0]
    assert _same(got[1], want[1]) if got[0] == "value" else got == want


def test_a_lone_surrogate_in_text_is_read_by_json() -> None:
    assert jsonsafe.read_json('"\ud800"') == "\ud800"
    assert jsonsafe.loads('["\udfff"]') == (["\udfff"], False)


def test_loads_spells_what_msgspec_refuses() -> None:
    assert jsonsafe.loads(b"[NaN, 1e999, -1e999, 1]") == (
        ["NaN", "Infinity", "-Infinity", 1],
        True,
    )
    assert jsonsafe.loads(b'{"big": 123456789012345678901234567890}') == (
        {"big": 123456789012345678901234567890},
        False,
    )
    with pytest.raises(json.JSONDecodeError, match="Expecting value"):
        jsonsafe.loads(b"[1,]")
    with pytest.raises(RecursionError):
        jsonsafe.loads(b"[" * 100_000 + b"]" * 100_000)


numbers = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.from_regex(r"-?[1-9][0-9]{0,25}\.[0-9]{1,25}[eE][-+]?[0-9]{1,3}", fullmatch=True),
)


@settings(max_examples=400, deadline=None)
@given(numbers)
def test_numbers_read_exactly_as_json_reads_them(text: str) -> None:
    for data in (text.encode(), f'{{"n": [{text}]}}'.encode()):
        got, want = _outcome(jsonsafe.read_json, data), _outcome(json.loads, data)
        assert got[0] == want[0]
        if got[0] == "value":
            assert _same(got[1], want[1]), data
        spelled, _ = jsonsafe.loads(data)
        assert not jsonsafe.has_nonfinite(spelled)
