"""The one filter vocabulary of ``/api/calls``, ``/api/stats`` and ``/api/calls/export``.

``parse_filters`` turns query parameters into a ``CallFilter`` (a bad value raises
``FilterError`` naming the parameter and what is allowed); ``apply_filters`` turns a
``CallFilter`` into SQL conditions. Every value is bound as a parameter, never pasted into
SQL, and text search escapes its own ``LIKE`` metacharacters, so ``%``, ``_``, ``'``,
``;`` and ``\\`` in any filter match literally.

Text search (``q``) looks inside the stored JSON text of inputs and outputs,
case-insensitively for ASCII. SQLite stores JSON ASCII-escaped (``é`` as ``\\u00e9``) while
PostgreSQL's ``jsonb::text`` keeps ``é``, so a non-ASCII query looks for both spellings.

Both are backed by an index (migration 0012) and give what the scan gives: on SQLite the
FTS5 ``trigram`` table ``call_text`` is a prefilter (a query under 3 characters, trigram's
least, skips it; calls still queued for it, ``storage.text_index``, are candidates too) and
the exact ``LIKE`` is still checked on what it finds; on PostgreSQL
the same ``ILIKE`` runs, and its ``pg_trgm`` GIN indexes serve it when they exist.

``property.<key>`` matches keys case-insensitively (header properties are recorded with
lowercased keys, ``Wiretrace-Property-Env`` becomes ``env``) and values exactly. It reads
``call_properties``, written by triggers with each call; a key or value longer than that
table keeps (``PROPERTY_KEY_LIMIT``, ``PROPERTY_VALUE_LIMIT``) is read from the JSON with
``json_each``/``jsonb_each_text`` rather than a JSON path, so a key holding ``"``, ``.`` or
non-ASCII characters cannot break or escape the path.

``roots_only`` means what the trace view shows as a root: no parent, or a parent that was
never recorded (an app's own OpenTelemetry span sent through ``traceparent``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from wiretrace_proxy.callrecord import KINDS as RECORD_KINDS
from wiretrace_proxy.callrecord import STATUSES
from wiretrace_proxy.storage.models import (
    CALL_PROPERTIES,
    CALLS,
    FEEDBACK,
    PROPERTY_KEY_LIMIT,
    PROPERTY_VALUE_LIMIT,
)
from wiretrace_proxy.timestamps import parse_utc

KINDS = RECORD_KINDS
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
    """Inclusive lower bound on ``started_at``."""
    until: datetime | None = None
    """Exclusive upper bound on ``started_at``."""
    minimum: dict[str, float] = field(default_factory=dict)
    """Column name -> inclusive lower bound."""
    maximum: dict[str, float] = field(default_factory=dict)
    q: str | None = None
    roots_only: bool = False
    feedback: Literal["up", "down", "any", "none"] | None = None
    many_text_matches: bool = False
    """``q`` is in so many calls that a page in sort order is found faster by reading calls
    in that order than by fetching every match and sorting (``probe_text_matches``)."""


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
        roots_only=parse_flag("roots_only", query.get("roots_only")),
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
        return parse_utc(value)
    except ValueError:
        raise FilterError(
            param, f"{param} must be an ISO 8601 time like 2026-01-31T12:00:00Z, got {value!r}"
        ) from None


def parse_flag(param: str, value: str | None) -> bool:
    """A true/false query parameter (absent or empty is false), or ``FilterError``."""
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
        stmt = stmt.where(_property_condition(key, value))
    if f.since is not None:
        stmt = stmt.where(CALLS.c.started_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(CALLS.c.started_at < f.until)
    for column, low in f.minimum.items():
        stmt = stmt.where(CALLS.c[column] >= low)
    for column, high in f.maximum.items():
        stmt = stmt.where(CALLS.c[column] <= high)
    if f.q:
        stmt = stmt.where(_text_search(f.q, f.many_text_matches))
    if f.roots_only:
        stmt = stmt.where(_is_root())
    if f.feedback is not None:
        stmt = stmt.where(_feedback_condition(f.feedback))
    return stmt


def _property_condition(key: str, value: str) -> sa.ColumnElement[bool]:
    """A probe of ``call_properties`` per call, not a list of the matching calls: a first
    page of a common value (``env=prod``) then stops after a few rows in sort order, where
    the list would be every match fetched and sorted."""
    name = key.lower()
    if len(name) > PROPERTY_KEY_LIMIT or len(value) > PROPERTY_VALUE_LIMIT:
        return PropertyEquals(key, value)
    props = CALL_PROPERTIES.c
    found = sa.select(props.call_id).where(
        props.call_id == CALLS.c.id, props.key == name, props.value == value
    )
    return found.exists()


TRIGRAM = 3
"""The shortest text the trigram indexes can find."""


FEW_TEXT_MATCHES = 2_000
"""Candidate calls a page in sort order fetches and sorts rather than read calls in order."""


def _spellings(q: str) -> list[str]:
    return sorted({json_text_pattern(q), json.dumps(q, ensure_ascii=False)[1:-1]})


def _text_search(q: str, many: bool) -> sa.ColumnElement[bool]:
    spellings = _spellings(q)
    exact = text_scan(spellings)
    if many or min(len(s) for s in spellings) < TRIGRAM:
        return exact  # many: the first calls in sort order hold it, no list of all needed
    return sa.and_(TrigramPrefilter(spellings), exact)


def probe_text_matches(conn: Connection, f: CallFilter) -> CallFilter:
    """``f``, marked ``many_text_matches`` if SQLite's text index has more than
    ``FEW_TEXT_MATCHES`` candidates for ``f.q``: for a page in sort order.

    Why: the planner cannot tell a rare word from a common one. A rare word's page is a
    few rowid lookups and a sort of them (well under a millisecond at a million calls),
    a common word's is the first calls in sort order that hold it, checked without the
    index (whose list of every match would cost more than the page); each plan is the
    other's disaster. Counting stops at the threshold, so a common word costs little."""
    if not f.q or conn.dialect.name != "sqlite":
        return f
    spellings = _spellings(f.q)
    if min(len(s) for s in spellings) < TRIGRAM:
        return f
    found = conn.execute(_COUNT_CANDIDATES, {"phrases": fts_phrases(spellings)}).scalar_one()
    return dataclasses.replace(f, many_text_matches=found > FEW_TEXT_MATCHES)


_COUNT_CANDIDATES = sa.text(
    "SELECT (SELECT count(*) FROM (SELECT rowid FROM call_text WHERE call_text MATCH :phrases"
    f" LIMIT {FEW_TEXT_MATCHES + 1})) + (SELECT count(*) FROM call_text_pending)"
)


def text_scan(spellings: list[str]) -> sa.ColumnElement[bool]:
    """The exact search: inputs or output text containing one of ``spellings``."""
    return sa.or_(
        *(
            TextContains(sa.cast(column, sa.Text), spelling)
            for column in (CALLS.c.inputs, CALLS.c.output)
            for spelling in spellings
        )
    )


def fts_phrases(spellings: list[str]) -> str:
    """An FTS5 query for the calls that may hold one of ``spellings``: each spelling's
    trigrams (non-overlapping, and the last) all present. ``call_text`` keeps no positions,
    so this is all it can ask; the exact check does the rest."""

    def quoted(text: str) -> str:
        return '"' + text.replace('"', '""') + '"'

    def trigrams(text: str) -> list[str]:
        starts = sorted({*range(0, len(text) - TRIGRAM + 1, TRIGRAM), len(text) - TRIGRAM})
        return [quoted(text[i : i + TRIGRAM]) for i in starts]

    return " OR ".join(f"({' AND '.join(trigrams(s))})" for s in spellings)


def _is_root() -> sa.ColumnElement[bool]:
    parent = CALLS.alias("parent")
    recorded = sa.select(parent.c.id).where(parent.c.id == CALLS.c.parent_id).exists()
    return sa.or_(CALLS.c.parent_id.is_(None), CALLS.c.parent_id == CALLS.c.id, ~recorded)


def _feedback_condition(kind: str) -> sa.ColumnElement[bool]:
    """``up``/``down``/``any`` start from the (small) feedback table; ``none`` cannot."""
    given = sa.select(FEEDBACK.c.call_id)
    if kind == "none":
        return ~given.where(FEEDBACK.c.call_id == CALLS.c.id).exists()
    if kind in ("up", "down"):
        given = given.where(FEEDBACK.c.thumbs == (1 if kind == "up" else -1))
    return CALLS.c.id.in_(given)


class PropertyEquals(sa.ColumnElement[bool]):
    """``attributes.properties[key] == value``, key case-insensitive, both bound."""

    type = sa.Boolean()
    _is_implicitly_boolean = True  # SQL that is a condition: no "= 1" wrapper on SQLite
    inherit_cache = True
    _traverse_internals = [
        ("name", InternalTraversal.dp_clauseelement),
        ("value", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, key: str, value: str) -> None:
        self.name = sa.bindparam(None, key.lower(), type_=sa.String())
        self.value = sa.bindparam(None, value, type_=sa.String())


@compiles(PropertyEquals)
def _property_postgresql(element: PropertyEquals, compiler: SQLCompiler, **kw: Any) -> str:
    props = f"({compiler.process(CALLS.c.attributes, **kw)} -> 'properties')"
    obj = f"CASE WHEN jsonb_typeof({props}) = 'object' THEN {props} ELSE '{{}}'::jsonb END"
    key, value = compiler.process(element.name, **kw), compiler.process(element.value, **kw)
    return (
        f"(EXISTS (SELECT 1 FROM jsonb_each_text({obj}) AS p"
        f" WHERE lower(p.key) = CAST({key} AS TEXT) AND p.value = CAST({value} AS TEXT)))"
    )


@compiles(PropertyEquals, "sqlite")
def _property_sqlite(element: PropertyEquals, compiler: SQLCompiler, **kw: Any) -> str:
    attributes = compiler.process(CALLS.c.attributes, **kw)
    key, value = compiler.process(element.name, **kw), compiler.process(element.value, **kw)
    return (
        f"(EXISTS (SELECT 1 FROM json_each({attributes}, '$.properties') AS p"
        f" WHERE lower(p.key) = {key} AND CAST(p.value AS TEXT) = {value}))"
    )


class TextContains(sa.ColumnElement[bool]):
    """``text`` contains ``needle`` literally, ignoring ASCII case: SQLite's ``LIKE`` already
    ignores it (no ``lower()`` copy of every row's text), PostgreSQL gets ``ILIKE``."""

    type = sa.Boolean()
    _is_implicitly_boolean = True  # SQL that is a condition: no "= 1" wrapper on SQLite
    inherit_cache = True
    _traverse_internals = [
        ("text", InternalTraversal.dp_clauseelement),
        ("pattern", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, text: sa.ColumnElement[str], needle: str) -> None:
        escaped = needle.replace("/", "//").replace("%", "/%").replace("_", "/_")
        self.text = text
        self.pattern = sa.bindparam(None, f"%{escaped}%", type_=sa.String())


@compiles(TextContains)
def _contains_postgresql(element: TextContains, compiler: SQLCompiler, **kw: Any) -> str:
    text, pattern = compiler.process(element.text, **kw), compiler.process(element.pattern, **kw)
    return f"({text} ILIKE {pattern} ESCAPE '/')"


@compiles(TextContains, "sqlite")
def _contains_sqlite(element: TextContains, compiler: SQLCompiler, **kw: Any) -> str:
    text, pattern = compiler.process(element.text, **kw), compiler.process(element.pattern, **kw)
    return f"({text} LIKE {pattern} ESCAPE '/')"


class TrigramPrefilter(sa.ColumnElement[bool]):
    """Calls whose text may contain one of the spellings: SQLite asks ``call_text`` (FTS5
    folds more case than ``LIKE``, so it finds a superset) and adds the calls queued for
    it; PostgreSQL needs nothing here,
    its trigram indexes serve the ``ILIKE`` itself."""

    type = sa.Boolean()
    _is_implicitly_boolean = True  # SQL that is a condition: no "= 1" wrapper on SQLite
    inherit_cache = True
    _traverse_internals = [("phrases", InternalTraversal.dp_clauseelement)]

    def __init__(self, spellings: list[str]) -> None:
        self.phrases = sa.bindparam(None, fts_phrases(spellings), type_=sa.String())


@compiles(TrigramPrefilter)
def _prefilter_postgresql(element: TrigramPrefilter, compiler: SQLCompiler, **kw: Any) -> str:
    return "true"


@compiles(TrigramPrefilter, "sqlite")
def _prefilter_sqlite(element: TrigramPrefilter, compiler: SQLCompiler, **kw: Any) -> str:
    phrases = compiler.process(element.phrases, **kw)
    return (
        f"(calls.rowid IN (SELECT rowid FROM call_text WHERE call_text MATCH {phrases})"
        " OR calls.rowid IN (SELECT call_rowid FROM call_text_pending))"
    )
