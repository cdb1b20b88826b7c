"""The SQL behind pricing: walking calls with usage, storing recomputed costs, and listing
the models no price covers.

``usage_batches`` walks the calls that have usage in primary-key order (keyset, so memory
stays flat and concurrent inserts are safe), one short read per batch; ``store_costs`` writes
a batch's changed costs in one short transaction, so a running server's writer is never
locked out for long. What a cost *is* stays with ``record.pricing``; this module only
knows where costs and usage live.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping

from wiretrace_proxy.callrecord import JSONObject, Usage
from wiretrace_proxy.storage.models import CALLS

if TYPE_CHECKING:
    from wiretrace_proxy.record.pricing import Pricer

__all__ = ["CallFilter", "store_costs", "unknown_models", "usage_batches"]

_HAS_USAGE = sa.or_(CALLS.c.prompt_tokens.is_not(None), CALLS.c.completion_tokens.is_not(None))
_UPDATE = (
    sa.update(CALLS)
    .where(CALLS.c.id == sa.bindparam("b_id"))
    .values(cost_usd=sa.bindparam("b_cost"))
)


@dataclass(frozen=True, slots=True)
class CallFilter:
    """Which calls a reprice touches; every unset field matches all."""

    model: str | None = None
    """Requested or answering model."""
    since: datetime | None = None
    """Started at or after."""
    until: datetime | None = None
    """Started before."""
    project: str | None = None


def usage_batches(engine: Engine, where: CallFilter, batch_size: int) -> Iterator[list[RowMapping]]:
    """The matching calls with usage, ``batch_size`` at a time, in id order.

    Each row has the call's ``id``, ``model``, ``response_model``, ``started_at``,
    ``cost_usd``, the usage counts and ``service_tier``. No connection is held between
    batches, so the caller may write (``store_costs``) before asking for the next one.
    """
    stmt = _select(where).limit(batch_size)
    last = ""
    while True:
        with engine.connect() as conn:
            rows = list(conn.execute(stmt.where(CALLS.c.id > last)).mappings())
        if not rows:
            return
        last = rows[-1]["id"]
        yield rows


def store_costs(engine: Engine, costs: Sequence[tuple[str, float | None]]) -> None:
    """Set ``cost_usd`` of each ``(call id, cost)``, in one transaction."""
    if costs:
        with engine.begin() as conn:
            conn.execute(_UPDATE, [{"b_id": call_id, "b_cost": cost} for call_id, cost in costs])


def _select(where: CallFilter) -> sa.Select[tuple[object, ...]]:
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
    if where.model is not None:
        stmt = stmt.where(
            sa.or_(CALLS.c.model == where.model, CALLS.c.response_model == where.model)
        )
    if where.since is not None:
        stmt = stmt.where(CALLS.c.started_at >= where.since)
    if where.until is not None:
        stmt = stmt.where(CALLS.c.started_at < where.until)
    if where.project is not None:
        stmt = stmt.where(CALLS.c.project == where.project)
    return stmt


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
