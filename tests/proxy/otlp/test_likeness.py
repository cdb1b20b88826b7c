"""Likeness of an LLM span and a proxied call: each condition, at its tolerance's edge,
and the each-way unambiguity rule."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from wiretrace_proxy.otlp.likeness import (
    CLOCK_SKEW,
    END_TOLERANCE,
    START_TOLERANCE,
    Side,
    alike,
    unambiguous_pairs,
)

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
MS = timedelta(milliseconds=1)
SPAN = Side(
    id="span",
    project="shop",
    trace_id="a" * 32,
    parent_id="b" * 16,
    models=frozenset({"gpt-4o-mini"}),
    started_at=T0,
    ended_at=T0 + 900 * MS,
    tokens=(12, 30),
    response_id=None,
)
CALL = dataclasses.replace(
    SPAN,
    id="call",
    trace_id="c" * 32,
    parent_id=None,
    models=frozenset({"gpt-4o-mini", "gpt-4o-mini-2024-07-18"}),
    started_at=T0 + 8 * MS,
    ended_at=T0 + 880 * MS,
    response_id="chatcmpl-1",
)


def test_a_call_inside_its_span_with_the_same_counts_is_alike() -> None:
    assert alike(SPAN, CALL)
    answered_only = dataclasses.replace(SPAN, models=frozenset({"gpt-4o-mini-2024-07-18"}))
    assert alike(answered_only, CALL)  # OpenInference names the model that answered
    assert alike(dataclasses.replace(SPAN, tokens=None), CALL)  # counts only when both
    assert alike(SPAN, dataclasses.replace(CALL, tokens=(12, None)))
    assert not alike(dataclasses.replace(SPAN, response_id="chatcmpl-2"), CALL)  # two answers


@pytest.mark.parametrize(
    "change",
    [
        {"project": "another"},
        {"models": frozenset({"gpt-4o"})},
        {"tokens": (13, 30)},
        {"parent_id": "d" * 16},  # the call has a parent in another trace
        {"ended_at": None},
        {"started_at": T0 + START_TOLERANCE + MS},
        {"started_at": T0 - CLOCK_SKEW - MS},
        {"ended_at": T0 + 900 * MS - END_TOLERANCE - MS},
        {"ended_at": T0 + 900 * MS + CLOCK_SKEW + MS},
    ],
)
def test_a_call_that_differs_is_not_alike(change: dict[str, object]) -> None:
    assert not alike(SPAN, dataclasses.replace(CALL, **change))  # type: ignore[arg-type]


def test_the_edges_of_the_tolerances_are_alike() -> None:
    for change in (
        {"started_at": T0 + START_TOLERANCE},
        {"started_at": T0 - CLOCK_SKEW},
        {"ended_at": T0 + 900 * MS - END_TOLERANCE},
        {"ended_at": T0 + 900 * MS + CLOCK_SKEW},
        {"parent_id": "e" * 16, "trace_id": SPAN.trace_id},  # a parent in the span's trace
    ):
        assert alike(SPAN, dataclasses.replace(CALL, **change))


def test_only_pairs_with_one_partner_each_way_are_taken() -> None:
    assert unambiguous_pairs([SPAN], [], [SPAN], [CALL]) == {"call": "span"}
    assert unambiguous_pairs([], [CALL], [SPAN], [CALL]) == {"call": "span"}
    twin_call = dataclasses.replace(CALL, id="call-2")
    assert unambiguous_pairs([SPAN], [CALL], [SPAN], [CALL, twin_call]) == {}
    twin_span = dataclasses.replace(SPAN, id="span-2")
    assert unambiguous_pairs([SPAN], [CALL], [SPAN, twin_span], [CALL]) == {}
    # A call alike to one span whose other alike call makes the span ambiguous:
    assert unambiguous_pairs([], [CALL], [SPAN], [CALL, twin_call]) == {}
