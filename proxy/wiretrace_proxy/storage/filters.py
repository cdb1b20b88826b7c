"""The one filter vocabulary of ``/api/calls``, ``/api/stats`` and ``/api/calls/export``.

``parse_filters`` turns query parameters into a ``CallFilter`` (a bad value raises
``FilterError`` naming the parameter and what is allowed); ``apply_filters`` turns a
``CallFilter`` into SQL conditions. Every text value is bound as a parameter, never pasted
into SQL, and text search escapes ``%`` and ``_``, so metacharacters match literally.

Text search (``q``) looks inside the stored JSON text of inputs and outputs. JSON columns
are stored ASCII-escaped (``é`` as ``\\u00e9``), so the query is escaped the same way first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa

from wiretrace_proxy.storage.models import Feedback
from wiretrace_proxy.storage.queries import CALLS

FEEDBACK_TABLE: sa.Table = Feedback.__table__  # type: ignore[attr-defined]

STATUSES = ("ok", "error", "cancelled", "running")
KINDS = ("llm", "op")
FEEDBACK_VALUES = ("up", "down", "any", "none")
EXACT = (
    "project",
    "op_name",
    "op_version",
    "model",
    "status",
    "trace_id",
    "parent_id",
    "session_id",
    "user_id",
    "prompt_digest",
    "kind",
)
"""Parameters that match a column exactly."""
RANGES = {
    "latency_ms": "latency_ms",
    "tokens": "total_tokens",
    "cost": "cost_usd",
}
"""``min_<name>`` / ``max_<name>`` parameters and the column they bound (inclusive)."""
PARAMS = (
    *EXACT,
    *(f"{b}_{n}" for n in RANGES for b in ("min", "max")),
    "since",
    "until",
    "q",
    "roots_only",
    "feedback",
)
"""Every filter parameter, plus ``property.<key>``."""


class FilterError(ValueError):
    """A filter parameter that cannot be used; ``param`` names it."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True, slots=True)
class CallFilter:
    exact: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)
    since: datetime | None = None
    until: datetime | None = None
    minimum: dict[str, float] = field(default_factory=dict)
    """Column name -> inclusive lower bound."""
    maximum: dict[str, float] = field(default_factory=dict)
    q: str | None = None
    roots_only: bool = False
    feedback: Literal["up", "down", "any", "none"] | None = None


def parse_filters(query: Mapping[str, str], extra: tuple[str, ...] = ()) -> CallFilter:
    """A ``CallFilter`` from query parameters; ``extra`` names other parameters the caller
    accepts (``limit``, ``sort``...), anything else is refused with the allowed list."""
    for name in query:
        if name not in PARAMS and name not in extra and not name.startswith("property."):
            allowed = ", ".join((*PARAMS, "property.<key>", *extra))
            raise FilterError(name, f"unknown parameter {name!r}; allowed: {allowed}")
    exact = {name: query[name] for name in EXACT if query.get(name)}
    _check_choice(exact, "status", STATUSES)
    _check_choice(exact, "kind", KINDS)
    properties = {
        name.removeprefix("property."): value
        for name, value in query.items()
        if name.startswith("property.")
    }
    if "" in properties:
        raise FilterError("property.", "property filters are property.<key>=<value>")
    minimum, maximum = {}, {}
    for name, column in RANGES.items():
        if (low := query.get(f"min_{name}")) is not None:
            minimum[column] = _number(f"min_{name}", low)
        if (high := query.get(f"max_{name}")) is not None:
            maximum[column] = _number(f"max_{name}", high)
    feedback = query.get("feedback")
    if feedback is not None and feedback not in FEEDBACK_VALUES:
        raise FilterError("feedback", f"feedback must be one of {', '.join(FEEDBACK_VALUES)}")
    return CallFilter(
        exact=exact,
        properties=properties,
        since=_time("since", query.get("since")),
        until=_time("until", query.get("until")),
        minimum=minimum,
        maximum=maximum,
        q=query.get("q") or None,
        roots_only=_flag("roots_only", query.get("roots_only")),
        feedback=feedback,  # type: ignore[arg-type]  # checked above
    )


def _check_choice(exact: dict[str, str], name: str, allowed: tuple[str, ...]) -> None:
    if name in exact and exact[name] not in allowed:
        raise FilterError(name, f"{name} must be one of {', '.join(allowed)}")


def _number(param: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise FilterError(param, f"{param} must be a number, got {value!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise FilterError(param, f"{param} must be a finite number")
    return number


def _time(param: str, value: str | None) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(
            param, f"{param} must be an ISO 8601 time like 2026-01-31T12:00:00Z, got {value!r}"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _flag(param: str, value: str | None) -> bool:
    if value is None or value.lower() in ("", "0", "false", "no"):
        return False
    if value.lower() in ("1", "true", "yes"):
        return True
    raise FilterError(param, f"{param} must be true or false, got {value!r}")


def json_text_pattern(text: str) -> str:
    """``text`` as it appears inside a stored (ASCII-escaped) JSON string."""
    return json.dumps(text)[1:-1]


def apply_filters(stmt: sa.Select[Any], f: CallFilter) -> sa.Select[Any]:
    """``stmt`` (a select over ``calls``) restricted to the rows ``f`` matches."""
    for name, value in f.exact.items():
        stmt = stmt.where(CALLS.c[name] == value)
    for key, value in f.properties.items():
        stmt = stmt.where(CALLS.c.attributes["properties"][key].as_string() == value)
    if f.since is not None:
        stmt = stmt.where(CALLS.c.started_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(CALLS.c.started_at < f.until)
    for column, low in f.minimum.items():
        stmt = stmt.where(CALLS.c[column] >= low)
    for column, high in f.maximum.items():
        stmt = stmt.where(CALLS.c[column] <= high)
    if f.q:
        pattern = json_text_pattern(f.q).lower()
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(sa.cast(CALLS.c.inputs, sa.Text)).contains(pattern, autoescape=True),
                sa.func.lower(sa.cast(CALLS.c.output, sa.Text)).contains(pattern, autoescape=True),
            )
        )
    if f.roots_only:
        stmt = stmt.where(CALLS.c.parent_id.is_(None))
    if f.feedback is not None:
        stmt = stmt.where(_feedback_condition(f.feedback))
    return stmt


def _feedback_condition(kind: str) -> sa.ColumnElement[bool]:
    given = sa.select(FEEDBACK_TABLE.c.id).where(FEEDBACK_TABLE.c.call_id == CALLS.c.id)
    if kind == "any":
        return given.exists()
    if kind == "none":
        return ~given.exists()
    thumbs = 1 if kind == "up" else -1
    return given.where(FEEDBACK_TABLE.c.thumbs == thumbs).exists()
