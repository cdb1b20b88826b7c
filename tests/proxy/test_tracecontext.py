"""W3C trace-context parsing (https://www.w3.org/TR/trace-context/#traceparent-header)."""

from __future__ import annotations

import pytest
from wiretrace_proxy.tracecontext import new_span_id, new_trace_id, parse_traceparent


def test_valid_traceparent() -> None:
    value = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    assert parse_traceparent(value) == ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "garbage",
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01",
        "00-0af7651916cd43dd8448eb211c80319z-b7ad6b7169203331-01",
    ],
)
def test_invalid_traceparent_is_ignored(value: str | None) -> None:
    assert parse_traceparent(value) is None


def test_new_ids_have_w3c_shapes() -> None:
    assert len(new_span_id()) == 16 and len(new_trace_id()) == 32
    assert new_span_id() != new_span_id()


def test_new_ids_are_lowercase_hex_and_never_all_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    from wiretrace_proxy import tracecontext as ids

    for make, width in ((new_span_id, 16), (new_trace_id, 32)):
        value = make()
        assert len(value) == width and int(value, 16) >= 0 and value == value.lower()
    monkeypatch.setattr(ids, "_bits", lambda bits: 0)  # all-zero ids are invalid (W3C)
    assert ids.new_span_id() == "0" * 15 + "1" and ids.new_trace_id() == "0" * 31 + "1"
