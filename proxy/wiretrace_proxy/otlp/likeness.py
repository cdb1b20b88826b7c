"""The last way to tell that an ingested LLM span and a proxied call are one request, for
instrumentations that neither propagate their context to the proxy nor record the
response id (OpenInference with its outputs hidden, a framework's own LLM spans).

A span and a call are alike when they are in the same project (or the call was filed
under the server's default project, no ``Wiretrace-Project`` given), name a common model
(requested or answered), the call's time lies inside the span's (the client sends the
request after its span starts and reads the answer before it ends) to within
``START_TOLERANCE`` and ``END_TOLERANCE``, and their token counts are equal when both
have counts from the upstream. A call that carries a parent from the app (``traceparent``)
must be in the span's trace, and two different response ids never match. Likeness is a
guess, so a pair is taken only when it is unambiguous: the span is alike to exactly one
call and that call to exactly this span (``unambiguous_pairs``). A fold made this way is
marked ``merged_by: "heuristic"`` under ``attributes["otel"]``.

Pure: ``storage/llm_merge.py`` reads the rows near in time and folds the pairs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "CLOCK_SKEW",
    "END_TOLERANCE",
    "REACH",
    "START_TOLERANCE",
    "Side",
    "alike",
    "unambiguous_pairs",
]

START_TOLERANCE = timedelta(seconds=1)
"""How long after its span starts a call may reach the proxy (the client building and
sending the request, opening a connection)."""
END_TOLERANCE = timedelta(seconds=1)
"""How long after the proxied call ends its span may end (the client reading the answer)."""
CLOCK_SKEW = timedelta(milliseconds=250)
"""How far a call may lie outside its span: the app's clock and the proxy's disagree."""
REACH = START_TOLERANCE + CLOCK_SKEW
"""The farthest apart an alike span and call can start."""


@dataclass(frozen=True, slots=True)
class Side:
    """What likeness reads of an LLM record, ingested span or proxied call."""

    id: str
    project: str
    trace_id: str
    parent_id: str | None
    models: frozenset[str]
    """The models it requested and was answered by."""
    started_at: datetime
    ended_at: datetime | None
    tokens: tuple[int | None, int | None] | None
    """Prompt and completion tokens counted by the upstream; None when it has none (no
    usage, or only an estimate)."""
    response_id: str | None
    project_defaulted: bool = False
    """A proxied call filed under the server's default project (no ``Wiretrace-Project``):
    alike to a span of any project, whose project the folded record then takes."""


def alike(span: Side, call: Side) -> bool:
    """Whether ``span`` and ``call`` may be one request (see the module docstring)."""
    if span.project != call.project and not call.project_defaulted:
        return False
    if not span.models & call.models:
        return False
    if span.response_id and call.response_id and span.response_id != call.response_id:
        return False
    if call.parent_id is not None and call.trace_id != span.trace_id:
        return False
    if span.ended_at is None or call.ended_at is None:
        return False
    if not span.started_at - CLOCK_SKEW <= call.started_at <= span.started_at + START_TOLERANCE:
        return False
    if not span.ended_at - END_TOLERANCE <= call.ended_at <= span.ended_at + CLOCK_SKEW:
        return False
    return _same_counts(span.tokens, call.tokens)


def _same_counts(
    one: tuple[int | None, int | None] | None, other: tuple[int | None, int | None] | None
) -> bool:
    if one is None or other is None:
        return True
    return all(a is None or b is None or a == b for a, b in zip(one, other, strict=True))


def unambiguous_pairs(
    new_spans: Iterable[Side],
    new_calls: Iterable[Side],
    spans: Sequence[Side],
    calls: Sequence[Side],
) -> dict[str, str]:
    """Call id -> span id for each new span or call whose only alike partner (among
    ``spans`` and ``calls``, the rows near in time still free) has it as its only one."""
    pairs: dict[str, str] = {}
    for span in new_spans:
        call = _only(c for c in calls if alike(span, c))
        back = _only(s for s in spans if alike(s, call)) if call is not None else None
        if call is not None and back is not None and back.id == span.id:
            pairs[call.id] = span.id
    for call in new_calls:
        partner = _only(s for s in spans if alike(s, call))
        back = _only(c for c in calls if alike(partner, c)) if partner is not None else None
        if partner is not None and back is not None and back.id == call.id:
            pairs[call.id] = partner.id
    return pairs


def _only(found: Iterable[Side]) -> Side | None:
    """The one item of ``found`` (by id), or None for none or several."""
    unique = {side.id: side for side in found}
    return next(iter(unique.values())) if len(unique) == 1 else None
