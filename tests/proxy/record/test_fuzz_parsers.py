"""Fuzzing the parsers that read what clients send: request bodies and SDK span batches.

Properties: ``parse_body_verbatim`` never raises and ``parse_spans`` raises only
``SpanError``; whatever they return serialises with ``json.dumps(..., allow_nan=False)``
(what storage writes). Inputs are raw bytes and JSON-ish text with the tokens that break
parsers: deep nesting, ``NaN``/``Infinity``, lone surrogate escapes, invalid UTF-8, huge
numbers, times at the edges of the calendar. Bounded (derandomized, a fixed number of
examples, no example database) so the file runs in seconds; the edge cases found by fuzzing
have their own named tests.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from wiretrace_proxy.callrecord import JSON
from wiretrace_proxy.record.bodies import parse_body_verbatim
from wiretrace_proxy.record.spans import SpanBatch, SpanError, parse_spans

BOUNDED = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
NOW = datetime(2026, 1, 1, tzinfo=UTC)

# -- JSON-ish text -----------------------------------------------------------------------

TOKENS = st.sampled_from(
    [
        "NaN",
        "Infinity",
        "-Infinity",
        "9" * 5000,  # over int's default 4300-digit string limit
        "-" + "1" * 400,
        "1e308",
        "0.1e-400",
        '"\\ud800"',  # a lone high surrogate
        '"\\udc00x"',  # a lone low surrogate
        '"\\u0000"',
        '"sk-live-0123456789abcdefghij"',
        "true",
        "null",
        '"caf\u00e9"',
    ]
)


def _texts(leaf: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """JSON-shaped text built from ``leaf`` tokens (well formed or not)."""
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]"),
            st.lists(st.tuples(st.text(max_size=5), inner), max_size=4).map(
                lambda kvs: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in kvs) + "}"
            ),
            inner.map(lambda x: x[: len(x) // 2]),  # cut short
        ),
        max_leaves=12,
    )


def _nested(depth: int, open_: bytes, close: bytes) -> bytes:
    return open_ * depth + b"1" + close * depth


JSONISH_BYTES = st.one_of(
    st.binary(max_size=300),
    _texts(st.one_of(TOKENS, st.integers().map(str), st.text(max_size=8).map(json.dumps))).map(
        lambda t: t.encode("utf-8", "surrogatepass")
    ),
    st.integers(1, 200_000).map(lambda n: _nested(n, b"[", b"]")),
    st.integers(1, 200_000).map(lambda n: _nested(n, b'{"a":', b"}")),
    st.tuples(st.binary(max_size=20), st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80"])).map(
        lambda t: b'{"a": "' + t[0] + t[1] + b'"}'
    ),
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "APPLICATION/JSON; charset=utf-8",
        "",
        "text/plain",
        "application/x-ndjson",
        "application/octet-stream",
        "image/png",
        "multipart/form-data; boundary=xyz",
        'multipart/form-data; boundary="a b"',
        "application/x-www-form-urlencoded",
    ]
)


def _serialises(value: Any) -> None:
    json.dumps(value, allow_nan=False)


def _check_body(data: bytes, content_type: str, truncated: bool) -> None:
    value, verbatim = parse_body_verbatim(data, content_type, size=len(data), truncated=truncated)
    assert isinstance(verbatim, bool)
    _serialises(value)


@BOUNDED
@given(data=JSONISH_BYTES, content_type=CONTENT_TYPES, truncated=st.booleans())
@example(
    data=b'{"a": NaN, "b": [Infinity, -Infinity]}', content_type="application/json", truncated=False
)
@example(data=_nested(100_000, b"[", b"]"), content_type="application/json", truncated=False)
@example(data=b'["\\ud800", "\\udfff"]', content_type="application/json", truncated=False)
@example(data=b"\xff\xfe{\x00", content_type="", truncated=False)
@example(data=b"9" * 5000, content_type="application/json", truncated=False)
@example(data=b"--xyz\r\n\r\n", content_type="multipart/form-data; boundary=xyz", truncated=True)
def test_body_parser_never_raises_and_serialises(
    data: bytes, content_type: str, truncated: bool
) -> None:
    _check_body(data, content_type, truncated)


@pytest.mark.parametrize("data", [b"1e999", b'{"x": [-1e400]}'])
def test_body_parser_out_of_range_numbers_serialise(data: bytes) -> None:
    _check_body(data, "application/json", truncated=False)


# -- spans -------------------------------------------------------------------------------

HEX16 = st.text("0123456789abcdef", min_size=16, max_size=16)
HEX32 = st.text("0123456789abcdef", min_size=32, max_size=32)
JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and infinities included: the SDK may hand over any Python float
    st.text(max_size=10),
    st.sampled_from(["\ud800", "a\udc00", "\x00"]),
)
JSONISH: st.SearchStrategy[Any] = st.recursive(
    JSON_LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=15,
)
# Times of any year with any offset (the year 1 and 9999 edges also have their own cases).
TIMES = st.one_of(
    st.datetimes(
        timezones=st.one_of(st.none(), st.timezones()),
    ).map(datetime.isoformat),
    st.text(max_size=30),
    JSONISH,
)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(strategy, JSONISH)


SPAN = st.fixed_dictionaries(
    {
        "id": _maybe(HEX16),
        "trace_id": _maybe(HEX32),
        "op_name": _maybe(st.text(min_size=1, max_size=10)),
        "started_at": TIMES,
    },
    optional={
        "parent_id": _maybe(st.one_of(st.none(), HEX16)),
        "ended_at": st.one_of(st.none(), TIMES),
        "status": _maybe(st.sampled_from(["ok", "error", "cancelled", "running"])),
        "project": _maybe(st.text(max_size=5)),
        "display_name": _maybe(st.text(max_size=5)),
        "inputs": JSONISH,
        "output": JSONISH,
        "error": _maybe(st.fixed_dictionaries({}, optional={"message": JSONISH, "type": JSONISH})),
        "attributes": _maybe(st.dictionaries(st.text(max_size=5), JSONISH, max_size=3)),
        "op_version": _maybe(
            st.fixed_dictionaries({"digest": st.text(max_size=8)}, optional={"source": JSONISH})
        ),
        "model_version": _maybe(
            st.fixed_dictionaries(
                {"name": st.text(max_size=8), "digest": st.text(max_size=8)},
                optional={"attributes": JSONISH, "source": JSONISH},
            )
        ),
    },
)
BODIES = st.one_of(JSONISH, st.fixed_dictionaries({"spans": st.lists(SPAN, max_size=3)}))


def _record_values(batch: SpanBatch) -> list[JSON]:
    values: list[JSON] = []
    for record in batch.records:
        values += [record.inputs, record.output, record.attributes, record.error]
    for model in batch.model_versions:
        values += [model.attributes, model.source]
    return values


def _check_spans(body: Any) -> None:
    try:
        batch = parse_spans(body, "default", NOW)
    except SpanError:
        return
    for value in _record_values(batch):
        _serialises(value)
    for record in batch.records:
        assert record.started_at.tzinfo is not None
        assert record.latency_ms is None or math.isfinite(record.latency_ms)


_SPAN_BASE = {"id": "1" * 16, "trace_id": "2" * 32, "op_name": "op"}


@pytest.mark.parametrize(
    "field_and_time",
    [
        ("started_at", "0001-01-01T00:00:00+01:00"),
        ("started_at", "9999-12-31T23:59:59-01:00"),
        ("ended_at", "0001-01-01T00:30:00+05:30"),
    ],
)
def test_span_parser_times_at_the_edge_of_datetime(field_and_time: tuple[str, str]) -> None:
    field, value = field_and_time
    event = {"started_at": "2026-01-01T00:00:00Z", **_SPAN_BASE, field: value}
    _check_spans({"spans": [event]})


@BOUNDED
@given(body=BODIES)
def test_span_parser_raises_only_span_error_and_serialises(body: Any) -> None:
    _check_spans(body)
