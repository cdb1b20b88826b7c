"""The calls an evaluation run made: tokens, cost and call ids per row, from the wire.

Proxied calls sent with ``Wiretrace-Eval-Run``/``Wiretrace-Eval-Row`` carry
``attributes.eval_run``, ``eval_row`` and ``eval_trial`` (``record/eval_tags.py``). A run's
usage is read from those calls each time it is asked for, not folded into the run's rows
when either is stored: the writer stores calls in batches off the request path, so a call
may be stored before its row is reported or long after (from the spool, after an outage);
a query at read time is right in both orders with no bookkeeping on either side.

The JSON attribute is not indexed. The calls of a run are looked for among the calls that
started in the run's time window (``started_at`` is indexed): from ``WINDOW_SLACK``
before the run was created to ``WINDOW_SLACK`` after its last report (or now), so the
scan is the run's own traffic, whatever the size of the table. Only model calls count
(``kind = 'llm'``); the SDK's own spans carry no wire usage.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wiretrace_proxy.callrecord import JSONObject
from wiretrace_proxy.storage.models import CALLS

__all__ = ["WINDOW_SLACK", "CallTotals", "row_calls", "run_totals"]

WINDOW_SLACK = timedelta(minutes=10)
"""How far before a run's creation and after its last report its calls are looked for."""


@dataclass(slots=True)
class CallTotals:
    """Tokens and cost summed over some calls (None where no call had a number)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    cost_usd: float | None = None
    call_ids: list[str] = field(default_factory=list)

    def add(
        self,
        call_id: str,
        prompt: int | None,
        completion: int | None,
        total: int | None,
        cost: float | None,
    ) -> None:
        self.call_ids.append(call_id)
        self.prompt_tokens = _plus(self.prompt_tokens, prompt)
        self.completion_tokens = _plus(self.completion_tokens, completion)
        self.total_tokens = _plus(self.total_tokens, total)
        if cost is not None:
            self.cost_usd = (self.cost_usd or 0.0) + cost

    def usage(self) -> JSONObject:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


def _plus(a: int | None, b: int | None) -> int | None:
    if b is None:
        return a
    return (a or 0) + b


def _tagged(run: Mapping[str, Any], now: datetime) -> list[sa.ColumnElement[bool]]:
    started = run["started_at"]
    last = run["last_report_at"]
    assert isinstance(started, datetime) and isinstance(last, datetime)
    ended = run["ended_at"]
    until = max(last, ended) if isinstance(ended, datetime) else now
    c = CALLS.c
    return [
        c.started_at >= started - WINDOW_SLACK,
        c.started_at <= max(until, last) + WINDOW_SLACK,
        c.kind == "llm",
        c.attributes["eval_run"].as_string() == str(run["id"]),
    ]


def run_totals(conn: Connection, run: Mapping[str, Any], now: datetime) -> CallTotals:
    """Tokens and cost of every call tagged with the run (call ids left out)."""
    c = CALLS.c
    stmt = sa.select(
        sa.func.count(),
        sa.func.sum(c.prompt_tokens),
        sa.func.sum(c.completion_tokens),
        sa.func.sum(c.total_tokens),
        sa.func.sum(c.cost_usd),
    ).where(*_tagged(run, now))
    n, prompt, completion, total, cost = conn.execute(stmt).one()
    totals = CallTotals()
    if n:
        totals.prompt_tokens = None if prompt is None else int(prompt)
        totals.completion_tokens = None if completion is None else int(completion)
        totals.total_tokens = None if total is None else int(total)
        totals.cost_usd = None if cost is None else float(cost)
    return totals


def row_calls(
    conn: Connection,
    run: Mapping[str, Any],
    now: datetime,
    row_indexes: Collection[int],
) -> dict[tuple[int, int], CallTotals]:
    """``{(row_index, trial): totals}`` for the calls tagged with those rows of the run,
    call ids in the order the calls started."""
    if not row_indexes:
        return {}
    c = CALLS.c
    row = c.attributes["eval_row"].as_integer()
    trial = c.attributes["eval_trial"].as_integer()
    stmt = (
        sa.select(
            c.id,
            row.label("row"),
            trial.label("trial"),
            c.prompt_tokens,
            c.completion_tokens,
            c.total_tokens,
            c.cost_usd,
        )
        .where(*_tagged(run, now), row.in_(sorted(set(row_indexes))))
        .order_by(c.started_at, c.id)
    )
    out: dict[tuple[int, int], CallTotals] = {}
    for r in conn.execute(stmt):
        key = (int(r.row), int(r.trial or 0))
        out.setdefault(key, CallTotals()).add(
            r.id, r.prompt_tokens, r.completion_tokens, r.total_tokens, r.cost_usd
        )
    return out
