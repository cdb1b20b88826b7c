"""Property tests: body and span parsing never raise and always yield valid JSON.

Over arbitrary JSON-ish input (any nesting, ``NaN``/``Infinity``, lone surrogates, bytes
that are not JSON), ``parse_body_verbatim`` returns a value and ``parse_spans`` a batch or
a ``SpanError``; what they return is accepted by ``json.dumps(..., allow_nan=False)``.
Bounded (``max_examples``, no deadline flakiness) so it runs in seconds.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wiretrace_proxy.record.bodies import parse_body_verbatim
from wiretrace_proxy.record.spans import SpanError, parse_spans

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(codec=None), max_size=20),  # lone surrogates included
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)


@st.composite
def deep(draw: st.DrawFn) -> str:
    """Arrays and objects nested from 1 to 3,000 levels around a hostile scalar."""
    levels = draw(st.integers(min_value=1, max_value=3000))
    inner = draw(st.sampled_from(["NaN", "-Infinity", '"\\ud800"', "1", '"x"']))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    return opener * levels + inner + closer * levels


def python_json(value: Any) -> bytes:
    """``value`` as Python writes it: ``NaN`` and lone surrogate escapes included."""
    return json.dumps(value).encode()


bodies = st.one_of(
    values.map(python_json),
    deep().map(str.encode),
    st.binary(max_size=64),
    values.map(python_json).map(lambda b: b[: len(b) // 2]),  # cut JSON
)


def valid(value: Any) -> None:
    json.dumps(value, allow_nan=False)


@SETTINGS
@given(body=bodies, content_type=st.sampled_from(["application/json", "", "text/plain"]))
def test_parse_body_never_raises_and_is_valid_json(body: bytes, content_type: str) -> None:
    value, verbatim = parse_body_verbatim(body, content_type, size=len(body), truncated=False)
    valid(value)
    if verbatim and value is not None:
        assert value == json.loads(body)  # verbatim means the parsed bytes themselves


@st.composite
def span_bodies(draw: st.DrawFn) -> Any:
    event: dict[str, Any] = {
        "id": "a" * 16,
        "trace_id": "b" * 32,
        "op_name": draw(st.sampled_from(["op", "bad\ud800", ""])),
        "started_at": "2026-01-01T00:00:00Z",
        "status": draw(st.sampled_from(["ok", "running", "bogus"])),
    }
    for key in ("inputs", "output", "attributes", "error"):
        if draw(st.booleans()):
            event[key] = draw(values)
    return draw(st.sampled_from([{"spans": [event]}, event, [event], {"spans": "x"}]))


@SETTINGS
@given(body=span_bodies())
def test_parse_spans_never_raises_and_is_valid_json(body: Any) -> None:
    try:
        batch = parse_spans(body, "default", datetime(2026, 1, 1, tzinfo=UTC))
    except SpanError as exc:
        assert exc.param.startswith("spans")
        return
    for record in batch.records:
        valid(record.to_api())
        text = json.dumps(record.to_api(), allow_nan=False)
        text.encode("utf-8")  # no lone surrogate left to break a text column


@SETTINGS
@given(text=deep())
def test_deep_span_values_are_refused_naming_the_field(text: str) -> None:
    try:
        attributes = json.loads(text)
    except RecursionError:
        return  # the API answers 400 "body" before parse_spans
    event: dict[str, Any] = {
        "id": "a" * 16,
        "trace_id": "b" * 32,
        "op_name": "op",
        "started_at": "2026-01-01T00:00:00Z",
        "attributes": attributes if isinstance(attributes, dict) else {"a": attributes},
    }
    try:
        body: Any = {"spans": [event]}
        batch = parse_spans(body, "default", datetime(2026, 1, 1, tzinfo=UTC))
    except SpanError as exc:
        assert exc.param == "spans[0].attributes"
        return
    valid(batch.records[0].to_api())
