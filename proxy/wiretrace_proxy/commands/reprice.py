"""Recompute stored ``cost_usd`` with today's prices, and list the models nothing can price.

A call's cost is stored with it (so sorting and summing by cost are plain SQL), which means
it must be recomputable: after adding a model to the prices file, after a genai-prices
upgrade, or for calls recorded before pricing existed. ``reprice`` walks the calls that have
usage in primary-key order (keyset, so memory stays flat and concurrent inserts are safe),
prices each batch with ``Pricer.price_call`` at the call's own start time (the price then in
force), and writes only the costs that changed, one short transaction per batch so a
running server's writer is never locked out for long.

``unknown_models`` answers "what should I add to my prices file?": models of calls that have
usage but no cost, less those the current prices can price (those only need a reprice).

This module and ``storage`` are the only ones that run SQL against ``calls`` for pricing.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping

from wiretrace_proxy.callrecord import JSONObject, Usage
from wiretrace_proxy.record.pricing import Pricer
from wiretrace_proxy.settings import Settings
from wiretrace_proxy.storage.writes import CALLS

__all__ = ["RepriceReport", "main", "reprice", "unknown_models"]

BATCH_SIZE = 1000
_HAS_USAGE = sa.or_(CALLS.c.prompt_tokens.is_not(None), CALLS.c.completion_tokens.is_not(None))
_UPDATE = (
    sa.update(CALLS)
    .where(CALLS.c.id == sa.bindparam("b_id"))
    .values(cost_usd=sa.bindparam("b_cost"))
)


@dataclass(slots=True)
class RepriceReport:
    scanned: int = 0
    """Calls with usage that matched the filters."""
    priced: int = 0
    """Calls that now have a cost."""
    updated: int = 0
    """Calls whose stored cost changed."""
    unknown: Counter[str] = field(default_factory=Counter)
    """Model name -> calls that could not be priced for want of a price."""


def reprice(
    engine: Engine,
    pricer: Pricer,
    *,
    model: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    project: str | None = None,
    batch_size: int = BATCH_SIZE,
) -> RepriceReport:
    """Recompute ``cost_usd`` of the matching calls (all calls with usage by default)."""
    report = RepriceReport()
    stmt = _select(model, since, until, project).limit(batch_size)
    last = ""
    while True:
        with engine.connect() as conn:
            rows = list(conn.execute(stmt.where(CALLS.c.id > last)).mappings())
        if not rows:
            return report
        last = rows[-1]["id"]
        updates = [u for row in rows if (u := _reprice_row(pricer, row, report)) is not None]
        if updates:
            with engine.begin() as conn:
                conn.execute(_UPDATE, updates)
            report.updated += len(updates)


def _select(
    model: str | None, since: datetime | None, until: datetime | None, project: str | None
) -> sa.Select[tuple[object, ...]]:
    stmt = (
        sa.select(
            CALLS.c.id,
            CALLS.c.model,
            CALLS.c.response_model,
            CALLS.c.started_at,
            CALLS.c.cost_usd,
            CALLS.c.prompt_tokens,
            CALLS.c.completion_tokens,
            CALLS.c.total_tokens,
            CALLS.c.cached_tokens,
            CALLS.c.reasoning_tokens,
            CALLS.c.output["service_tier"].as_string().label("service_tier"),
        )
        .where(_HAS_USAGE)
        .order_by(CALLS.c.id)
    )
    if model is not None:
        stmt = stmt.where(sa.or_(CALLS.c.model == model, CALLS.c.response_model == model))
    if since is not None:
        stmt = stmt.where(CALLS.c.started_at >= since)
    if until is not None:
        stmt = stmt.where(CALLS.c.started_at < until)
    if project is not None:
        stmt = stmt.where(CALLS.c.project == project)
    return stmt


def _reprice_row(
    pricer: Pricer, row: RowMapping, report: RepriceReport
) -> dict[str, object] | None:
    usage = Usage(
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        total_tokens=row["total_tokens"],
        cached_tokens=row["cached_tokens"],
        reasoning_tokens=row["reasoning_tokens"],
    )
    result = pricer.price_call(
        row["model"],
        row["response_model"],
        usage,
        at=row["started_at"],
        output={"service_tier": row["service_tier"]},
    )
    report.scanned += 1
    if result.cost_usd is not None:
        report.priced += 1
    elif result.unknown_model:
        report.unknown[row["response_model"] or row["model"]] += 1
    if result.cost_usd == row["cost_usd"]:
        return None
    return {"b_id": row["id"], "b_cost": result.cost_usd}


def unknown_models(
    conn: Connection, pricer: Pricer, *, project: str | None = None
) -> tuple[list[JSONObject], int]:
    """``(models, repriceable)``: each ``{model, response_model, calls, last_seen}`` whose
    calls have usage but no cost and that the current prices cannot price, most calls
    first; and how many null-cost calls the current prices could price (run a reprice)."""
    calls = sa.func.count().label("calls")
    stmt = (
        sa.select(
            CALLS.c.model,
            CALLS.c.response_model,
            calls,
            sa.func.max(CALLS.c.started_at).label("last_seen"),
        )
        .where(CALLS.c.cost_usd.is_(None), _HAS_USAGE)
        .where(sa.or_(CALLS.c.model.is_not(None), CALLS.c.response_model.is_not(None)))
        .group_by(CALLS.c.model, CALLS.c.response_model)
        .order_by(calls.desc(), CALLS.c.model)
    )
    if project is not None:
        stmt = stmt.where(CALLS.c.project == project)
    probe = Usage(prompt_tokens=1, completion_tokens=1)
    models: list[JSONObject] = []
    repriceable = 0
    for row in conn.execute(stmt).mappings():
        if not pricer.price_call(row["model"], row["response_model"], probe).unknown_model:
            repriceable += int(row["calls"])
            continue
        models.append(
            {
                "model": row["model"],
                "response_model": row["response_model"],
                "calls": int(row["calls"]),
                "last_seen": row["last_seen"].isoformat(),
            }
        )
    return models, repriceable


def main(
    settings: Settings,
    *,
    model: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    project: str | None = None,
) -> int:
    """``wiretrace reprice``: reprice, then print what was priced and what is unknown."""
    from wiretrace_proxy.storage.engine import check_database, create_engine_for
    from wiretrace_proxy.storage.migrate import upgrade_to_head

    pricer = Pricer.from_settings(settings)
    engine = create_engine_for(settings.database_url)
    try:
        check_database(engine)
        upgrade_to_head(engine)
        report = reprice(engine, pricer, model=model, since=since, until=until, project=project)
    finally:
        engine.dispose()
    source = pricer.source + (f" and {pricer.override_source}" if settings.prices_file else "")
    print(
        f"priced {report.priced} of {report.scanned} calls with usage "
        f"({report.updated} updated) from {source}"
    )
    if report.unknown:
        print("unknown models (add them to a --prices file, then run reprice again):")
        for name, count in report.unknown.most_common():
            print(f"  {name}: {count} calls")
    sys.stdout.flush()
    return 0
