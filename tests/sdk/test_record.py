"""Starting and ending spans of ``@op``: bound arguments, defaults, failures contained."""

from __future__ import annotations

from typing import Any

import pytest
import wiretrace
from wiretrace._record import OpInfo, Yielded, end_error
from wiretrace._serialize import MAX_ITEMS
from wiretrace._span import Span, new_trace_id

from .collector import Collector


def _inputs(fn: Any, *args: object, **kwargs: object) -> dict[str, object]:
    return dict(OpInfo(fn, "f").inputs(args, kwargs))


def test_binding_applies_defaults_and_names_every_argument() -> None:
    def simple(a: int, b: int = 2, c: str = "c") -> None: ...

    def rich(a: int, /, b: int, *rest: int, k: int = 5, **extra: int) -> None: ...

    assert _inputs(simple, 1) == {"a": 1, "b": 2, "c": "c"}
    assert _inputs(simple, 1, c="x") == {"a": 1, "b": 2, "c": "x"}
    assert _inputs(simple, c="z", a=0) == {"a": 0, "b": 2, "c": "z"}
    assert _inputs(rich, 1, 2, 3, 4, z=9) == {
        "a": 1,
        "b": 2,
        "rest": [3, 4],
        "k": 5,
        "extra": {"z": 9},
    }


def test_calls_that_do_not_bind_are_recorded_raw() -> None:
    def one(a: int) -> None: ...

    assert _inputs(one, 1, 2) == {"args": [1, 2], "kwargs": {}}
    assert _inputs(one, b=1) == {"args": [], "kwargs": {"b": 1}}
    assert _inputs(len, [1]) == {"obj": [1]}


def test_a_wrong_call_raises_the_functions_own_error(traced: Collector) -> None:
    @wiretrace.op(name="needs_two")
    def needs_two(a: int, b: int) -> int:
        return a + b

    with pytest.raises(TypeError, match="missing 1 required positional argument"):
        needs_two(1)  # type: ignore[call-arg]
    assert wiretrace.finish(10)
    event = traced.one("needs_two")
    assert event["status"] == "error" and event["inputs"] == {"args": [1], "kwargs": {}}


def test_unrecordable_values_do_not_change_the_call(traced: Collector) -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("repr")

        def __eq__(self, other: object) -> bool:
            raise RuntimeError("eq")

        __hash__ = None  # type: ignore[assignment]

    hostile = Hostile()

    @wiretrace.op(name="accepts")
    def accepts(value: object) -> object:
        return value

    assert accepts(hostile) is hostile
    assert wiretrace.finish(10)
    event = traced.one("accepts")
    assert event["inputs"] == {"value": "<unrepresentable Hostile>"}
    assert event["output"] == "<unrepresentable Hostile>"


def test_exception_whose_str_raises_is_recorded() -> None:
    class Weird(Exception):
        def __str__(self) -> str:
            raise RuntimeError("str")

    span = Span("op", new_trace_id(), None)
    end_error(span, Weird())
    assert span.status == "error" and span.error is not None
    assert span.error["message"] == "<unprintable Weird>"
    assert span.error["type"].endswith("Weird") and span.ended_ns is not None


def test_yielded_items_are_capped_with_a_marker() -> None:
    items = Yielded()
    for i in range(MAX_ITEMS + 4):
        items.add(i)
    result = items.result()
    assert len(result) == MAX_ITEMS + 1 and result[-1] == "…[4 more items]"
