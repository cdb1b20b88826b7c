"""Fold an ingested LLM span and the proxied call of the same request into one row.

Runs in the writer's transaction, right after a batch is inserted (``writes``), so the
request path never waits for it and the order the two arrive in does not matter: each new
record looks for its partner among the rows already stored (the batch included). A pair is:

1. a proxied call whose parent is the LLM span (an instrumentation that propagates its
   context, e.g. OpenLLMetry), or an HTTP client span under it (``opentelemetry-
   instrumentation-httpx`` under ``opentelemetry-instrument``), in the same trace;
2. a proxied call whose response id equals the span's ``gen_ai.response.id``, in any
   trace (instrumentations that propagate nothing: openai-v2, OpenInference).

3. failing both, a span and a call alike in project, model, time and token counts, when
   neither has another such partner (``otlp.likeness``; the fold is marked heuristic).

When several calls find one span (an SDK retried under one LLM span), the one the span
reports takes it: the call that answered with its response id, else the last success, else
the last try; the others stay calls of their own.

The call's row is updated with ``otlp.merge.fold`` (the wire's values, the span's context)
and the span's row deleted; children of the span are re-parented onto the call, those
stored already at once and those that arrive later when they do (a span's id is kept on
the call it was folded into, ``attributes.otel.span_id``). The stats
rollups follow through their update and delete triggers, so the call counts once. A span
sent again after it was folded (an exporter's retry) is found in the call it was folded
into and deleted again. A call's ``running`` row is never folded into: its final record
replaces that row, and is folded then.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.otlp import SPAN_KEY
from wiretrace_proxy.otlp.likeness import REACH, Side, alike, unambiguous_pairs
from wiretrace_proxy.otlp.merge import fold, is_ingested
from wiretrace_proxy.storage.models import CALLS
from wiretrace_proxy.storage.rows import (
    SPAN_KEY_PREFIX,
    record_to_row,
    response_id_of,
    row_to_record,
)

__all__ = ["fold_new", "without_stored"]

_C = CALLS.c
_LIGHT = (_C.id, _C.trace_id, _C.parent_id, _C.kind, _C.status, _C.attributes, _C.merge_key)
_SIDE = (
    *(_C.id, _C.project, _C.trace_id, _C.parent_id, _C.model, _C.response_model),
    *(_C.started_at, _C.ended_at, _C.prompt_tokens, _C.completion_tokens, _C.usage_source),
    _C.merge_key,
)
WINDOW = timedelta(hours=1)
"""How far apart in time a span and a call with the same response id may start (clocks of
two hosts disagree): a response id repeated by a self-hosted server elsewhere in time is
not a match, and the lookup stays one short index range."""


def without_stored(conn: Connection, records: Sequence[CallRecord]) -> Sequence[CallRecord]:
    """``records`` less the ingested spans already stored (an exporter sent them again)."""
    ids = [r.id for r in records if is_ingested(r)]
    if not ids:
        return records
    stored = set(conn.execute(sa.select(_C.id).where(_C.id.in_(ids))).scalars())
    return [r for r in records if not (r.id in stored and is_ingested(r))] if stored else records


def fold_new(conn: Connection, records: Sequence[CallRecord]) -> int:
    """Fold each new LLM record of ``records`` (just inserted) with its partner; how many
    pairs were folded."""
    spans = [r for r in records if r.kind == "llm" and is_ingested(r)]
    calls = [r for r in records if r.kind == "llm" and r.status != "running" and not is_ingested(r)]
    if not spans and not calls:
        _adopt_orphans(conn, [r for r in records if is_ingested(r)])
        return 0
    pairs: dict[str, str] = {}  # call id -> span id
    if calls:
        _pairs_for_calls(conn, calls, pairs)
    if spans:
        _pairs_for_spans(conn, spans, pairs)
    guessed = _alike_pairs(conn, spans, calls, pairs)
    _one_call_per_span(conn, pairs, spans)
    taken: set[str] = set()
    merged: list[CallRecord] = []
    for call_id, span_id in pairs.items():
        if span_id not in taken:
            taken.add(span_id)
            folded = _fold(conn, call_id, span_id, call_id in guessed)
            merged += [folded] if folded is not None else []
    _adopt_orphans(conn, [r for r in records if is_ingested(r) and r.id not in taken] + merged)
    return len(merged)


def _one_call_per_span(conn: Connection, pairs: dict[str, str], spans: list[CallRecord]) -> None:
    """Where several calls found one span (an SDK's retries under one LLM span), keep the
    call the span reports: the one that answered with the span's response id, else the
    last that succeeded, else the last; the other tries stay calls of their own."""
    by_span: dict[str, list[str]] = {}
    for call_id, span_id in pairs.items():
        by_span.setdefault(span_id, []).append(call_id)
    contested = [ids for ids in by_span.values() if len(ids) > 1]
    if not contested:
        return
    wanted = [call_id for ids in contested for call_id in ids]
    columns = (_C.id, _C.status, _C.started_at, _C.merge_key)
    found = conn.execute(sa.select(*columns).where(_C.id.in_(wanted))).mappings()
    rows = {row["id"]: row for row in found}
    answers = {s.id: response_id_of(s) for s in spans}
    for ids in contested:
        answer = answers.get(pairs[ids[0]])

        def rank(call_id: str, answer: str | None = answer) -> tuple[bool, bool, datetime, str]:
            row = rows[call_id]
            said = answer is not None and row["merge_key"] == answer
            return (said, row["status"] == "ok", row["started_at"], call_id)

        keep = max((call_id for call_id in ids if call_id in rows), key=rank, default=None)
        for call_id in ids:
            if call_id != keep:
                del pairs[call_id]


def _light(conn: Connection, where: sa.ColumnElement[bool]) -> list[RowMapping]:
    return list(conn.execute(sa.select(*_LIGHT).where(where)).mappings())


def _ingested(row: RowMapping) -> bool:
    attributes = row["attributes"]
    return isinstance(attributes, dict) and attributes.get("wiretrace.source") == "otlp"


def _merged(row: RowMapping) -> bool:
    """A proxied call already folded with a span (it keeps what the span said)."""
    attributes = row["attributes"]
    return isinstance(attributes, dict) and SPAN_KEY in attributes


def _llm_span(row: RowMapping) -> bool:
    return row["kind"] == "llm" and _ingested(row)


def _final_call(row: RowMapping) -> bool:
    return row["kind"] == "llm" and row["status"] != "running" and not _ingested(row)


def _http_client_span(row: RowMapping) -> bool:
    """An ingested CLIENT span of an HTTP library (``http.*``/``url.*``, no ``gen_ai.*``)."""
    if not _ingested(row) or row["kind"] == "llm":
        return False
    otel = row["attributes"].get(SPAN_KEY)
    if not isinstance(otel, dict) or otel.get("kind") != "CLIENT":
        return False
    keys = otel.get("attributes")
    keys = keys if isinstance(keys, dict) else {}
    http = any(k.startswith(("http.", "url.")) for k in keys)
    return http and not any(k.startswith("gen_ai.") for k in keys)


def _by_id(conn: Connection, ids: Iterable[str]) -> dict[str, RowMapping]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    return {row["id"]: row for row in _light(conn, _C.id.in_(wanted))}


def _pairs_for_calls(conn: Connection, calls: list[CallRecord], pairs: dict[str, str]) -> None:
    parents = _by_id(conn, (c.parent_id for c in calls if c.parent_id))
    grandparents = _by_id(
        conn, (p["parent_id"] for p in parents.values() if _http_client_span(p) and p["parent_id"])
    )
    for call in calls:
        parent = parents.get(call.parent_id or "")
        if parent is not None and parent["trace_id"] == call.trace_id:
            if _llm_span(parent):
                pairs[call.id] = parent["id"]
                continue
            above = grandparents.get(parent["parent_id"] or "")
            if _http_client_span(parent) and above is not None and _llm_span(above):
                pairs[call.id] = above["id"]
    unpaired: dict[str, str] = {}  # merge key of the span sought -> call id
    for call in calls:
        found = response_id_of(call) if call.id not in pairs else None
        if found is not None:
            unpaired[SPAN_KEY_PREFIX + found] = call.id
    if unpaired:  # only ingested spans have ``span:`` keys: one index probe each
        for row in _light(conn, _C.merge_key.in_(list(unpaired))):
            if _llm_span(row):
                pairs.setdefault(unpaired[row["merge_key"]], row["id"])


def _pairs_for_spans(conn: Connection, spans: list[CallRecord], pairs: dict[str, str]) -> None:
    paired = set(pairs.values())
    todo = {s.id: s for s in spans if s.id not in paired}
    if not todo:
        return
    children = _light(conn, _C.parent_id.in_(list(todo)))
    via_http = {row["id"]: row["parent_id"] for row in children if _http_client_span(row)}
    if via_http:
        children += [
            {**row, "parent_id": via_http[row["parent_id"]]}  # type: ignore[misc]
            for row in _light(conn, _C.parent_id.in_(list(via_http)))
        ]
    for row in children:
        span = todo.get(row["parent_id"])
        if span is not None and _final_call(row) and row["trace_id"] == span.trace_id:
            pairs.setdefault(row["id"], span.id)
    _by_response_id(conn, [s for s in todo.values() if s.id not in pairs.values()], pairs)
    _folded_before(conn, [s for s in todo.values() if s.id not in pairs.values()], pairs)


def _by_response_id(conn: Connection, spans: list[CallRecord], pairs: dict[str, str]) -> None:
    """For each span, the proxied call that answered with its response id, nearest in
    time: one query for the batch, an index range per id (``merge_key, started_at``)."""
    wanted: dict[str, list[CallRecord]] = {}
    for span in spans:
        found = response_id_of(span)
        if found is not None:
            wanted.setdefault(found, []).append(span)
    if not wanted:
        return
    first = min(s.started_at for group in wanted.values() for s in group)
    last = max(s.ended_at or s.started_at for group in wanted.values() for s in group)
    near = sa.and_(
        _C.merge_key.in_(list(wanted)),
        _C.started_at >= first - WINDOW,
        _C.started_at <= last + WINDOW,
    )
    candidates: dict[str, list[RowMapping]] = {}
    for row in conn.execute(sa.select(*_LIGHT, _C.started_at).where(near)).mappings():
        if _final_call(row):
            candidates.setdefault(row["merge_key"], []).append(row)
    for key, group in wanted.items():
        for span in group:
            free = [
                r
                for r in candidates.get(key, [])
                if r["id"] not in pairs and abs(r["started_at"] - span.started_at) <= WINDOW
            ]
            if free:
                best = min(free, key=lambda r: abs(r["started_at"] - span.started_at))
                pairs[best["id"]] = span.id


def _folded_before(conn: Connection, spans: list[CallRecord], pairs: dict[str, str]) -> None:
    """Spans sent again after they were folded by parentage (with a response id, the
    call's ``merge_key`` finds them): the calls that hold their ids, one query."""
    todo = {s.id: s for s in spans if response_id_of(s) is None}
    if not todo:
        return
    not_spans = sa.or_(_C.merge_key.is_(None), ~_C.merge_key.startswith(SPAN_KEY_PREFIX))
    traces = list({s.trace_id for s in todo.values()})
    where = sa.and_(_C.trace_id.in_(traces), _C.kind == "llm", not_spans)
    for row in _light(conn, where):
        attributes = row["attributes"]
        otel = attributes.get(SPAN_KEY) if isinstance(attributes, dict) else None
        span_id = otel.get("span_id") if isinstance(otel, dict) else None
        if not _ingested(row) and span_id in todo:
            pairs.setdefault(row["id"], str(span_id))


def _full(conn: Connection, call_id: str) -> CallRecord | None:
    row = conn.execute(sa.select(CALLS).where(_C.id == call_id)).mappings().first()
    return row_to_record(row) if row is not None else None


def _fold(conn: Connection, call_id: str, span_id: str, guessed: bool) -> CallRecord | None:
    """Fold the span into the call; the merged record, or None if the pair is gone (or, for
    a guessed pair, is not an unmerged call and an ingested span after all)."""
    call, span = _full(conn, call_id), _full(conn, span_id)
    if call is None or span is None:
        return None
    if guessed and (is_ingested(call) or SPAN_KEY in call.attributes or not is_ingested(span)):
        return None
    merged = fold(call, span, guessed=guessed) if is_ingested(span) else call
    values = record_to_row(merged)
    del values["id"]
    conn.execute(sa.update(CALLS).where(_C.id == call_id).values(**values))
    conn.execute(sa.delete(CALLS).where(_C.id == span_id))
    conn.execute(
        sa.update(CALLS)
        .where(_C.parent_id == span_id, _C.trace_id == span.trace_id, _C.id != call_id)
        .values(parent_id=call_id)
    )
    return merged


def _alike_pairs(
    conn: Connection, spans: list[CallRecord], calls: list[CallRecord], pairs: dict[str, str]
) -> set[str]:
    """Add the unambiguous alike pairs (``otlp.likeness``) of the new records still without
    a partner to ``pairs``; the ids of their calls.

    Each new call costs one index range (``model, started_at``) over ingested spans, which
    finds nothing on a server no instrumentation exports to; the proxied calls near in time
    are read only when there is a span to match."""
    paired = set(pairs.values())
    span_records = [s for s in spans if s.id not in paired and _matchable(s)]
    call_records = [c for c in calls if c.id not in pairs and _matchable(c)]
    if not span_records and not call_records:
        return set()
    windows = _windows([r.started_at for r in (*span_records, *call_records)])
    names = {m for r in (*span_records, *call_records) for m in (r.model, r.response_model) if m}
    near_spans = [
        _row_side(row)
        for row in _near(conn, windows, sa.and_(_C.http_status.is_(None), _C.model.in_(names)))
        if row["id"] not in paired
    ]
    if not span_records and not near_spans:  # no instrumentation exports here: the usual case
        return set()
    new_spans = [_record_side(s) for s in span_records]
    new_calls = [_record_side(c) for c in call_records]
    if not new_spans and not any(alike(s, c) for s in near_spans for c in new_calls):
        return set()
    names |= {name for side in near_spans for name in side.models}
    proxied = sa.and_(
        _C.http_status.is_not(None),
        _C.status != "running",
        sa.or_(_C.model.in_(names), _C.response_model.in_(names)),
    )
    near_calls = [
        _row_side(row)
        for row in _near(conn, windows, proxied, _C.attributes)
        if row["id"] not in pairs and not _ingested(row) and not _merged(row)
    ]
    found = unambiguous_pairs(new_spans, new_calls, near_spans, near_calls)
    for call_id, span_id in found.items():
        pairs.setdefault(call_id, span_id)
    return set(found)


def _windows(starts: list[datetime]) -> list[tuple[datetime, datetime]]:
    """Start-time ranges holding every span or call alike to one starting at ``starts``,
    or to one of those (the other side of the unambiguity check), overlaps joined."""
    windows: list[tuple[datetime, datetime]] = []
    for start in sorted(starts):
        low, high = start - 2 * REACH, start + 2 * REACH
        if windows and low <= windows[-1][1]:
            windows[-1] = (windows[-1][0], high)
        else:
            windows.append((low, high))
    return windows


def _near(
    conn: Connection,
    windows: list[tuple[datetime, datetime]],
    where: sa.ColumnElement[bool],
    *extra: sa.ColumnElement[object],
) -> list[RowMapping]:
    in_time = sa.or_(*(_C.started_at.between(low, high) for low, high in windows))
    query = sa.select(*_SIDE, *extra).where(_C.kind == "llm", where, in_time)
    return list(conn.execute(query).mappings())


def _row_side(row: RowMapping) -> Side:
    key = row["merge_key"]
    response_id = key.removeprefix(SPAN_KEY_PREFIX) if isinstance(key, str) and key else None
    counted = row["usage_source"] != "estimated"
    tokens = (row["prompt_tokens"], row["completion_tokens"])
    return Side(
        id=row["id"],
        project=row["project"],
        trace_id=row["trace_id"],
        parent_id=row["parent_id"],
        models=frozenset(m for m in (row["model"], row["response_model"]) if m),
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        tokens=tokens if counted and tokens != (None, None) else None,
        response_id=response_id,
        project_defaulted=_project_defaulted(row.get("attributes")),
    )


def _matchable(record: CallRecord) -> bool:
    """Has what likeness compares: a model and an end."""
    return bool(record.model or record.response_model) and record.ended_at is not None


def _record_side(record: CallRecord) -> Side:
    usage = record.usage
    counted = usage is not None and record.usage_source != "estimated"
    return Side(
        id=record.id,
        project=record.project,
        trace_id=record.trace_id,
        parent_id=record.parent_id,
        models=frozenset(m for m in (record.model, record.response_model) if m),
        started_at=record.started_at,
        ended_at=record.ended_at,
        tokens=(usage.prompt_tokens, usage.completion_tokens) if usage and counted else None,
        response_id=response_id_of(record),
        project_defaulted=_project_defaulted(record.attributes),
    )


def _project_defaulted(attributes: object) -> bool:
    return isinstance(attributes, dict) and attributes.get("project_defaulted") is True


def _adopt_orphans(conn: Connection, records: list[CallRecord]) -> None:
    """Re-parent each of ``records`` (new ingested spans, calls just merged) whose parent
    is an LLM span folded into a call before they came, onto that call."""
    batch = {r.id for r in records}
    parents = {r.parent_id for r in records if r.parent_id} - batch
    if not parents:
        return
    stored = set(conn.execute(sa.select(_C.id).where(_C.id.in_(list(parents)))).scalars())
    missing = parents - stored
    if not missing:
        return
    traces = list({r.trace_id for r in records if r.parent_id in missing})
    not_spans = sa.or_(_C.merge_key.is_(None), ~_C.merge_key.startswith(SPAN_KEY_PREFIX))
    holders: dict[tuple[str, str], str] = {}  # (trace, folded span id) -> call id
    for row in _light(conn, sa.and_(_C.trace_id.in_(traces), _C.kind == "llm", not_spans)):
        otel = row["attributes"].get(SPAN_KEY) if isinstance(row["attributes"], dict) else None
        span_id = otel.get("span_id") if isinstance(otel, dict) else None
        if not _ingested(row) and span_id in missing:
            holders[(row["trace_id"], str(span_id))] = row["id"]
    for record in records:
        holder = holders.get((record.trace_id, record.parent_id or ""))
        if holder is not None and holder != record.id:
            conn.execute(sa.update(CALLS).where(_C.id == record.id).values(parent_id=holder))
