"""Deleting old calls: the calls that started before a moment, their child spans, their
feedback and their share of the stats rollups, in small transactions.

Why small: each batch is one short transaction of at most ``BATCH_SIZE`` old calls (plus
their children), so the writer, whose transactions wait for the same lock on SQLite, is
held up by one batch at most, never by a whole purge. Callers pause between batches.

What goes with a call: every call below it in its trace (``parent_id`` chains, found by a
recursive query: a child that started after the cutoff would otherwise be left as a root
whose parent is gone) and the feedback given on any of them. Op and model versions stay:
they are the code's history, not the calls'.

Rollups (``storage.rollups``): the delete trigger (migration 0005 on SQLite, 0015 on
PostgreSQL) subtracts each deleted call from its cell inside the same transaction, so
counts, token sums and histogram buckets stay exact, and removes a cell or bucket it
leaves at zero (a recount would not have it). A cost sum is a float, which a subtraction cannot
bring back exactly to the sum of the calls left, so each cell that kept calls gets its
``cost_usd`` summed anew from them at the end, on SQLite in insert order, as
``rollup_writes`` sums it: the rollups then equal ``rollup_writes.recount``.

PostgreSQL: each batch first takes a transaction-level advisory lock, so replicas purging
at the same time take turns batch by batch instead of deadlocking on the same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from wiretrace_proxy.storage.engine import write_transaction
from wiretrace_proxy.storage.models import CALLS, FEEDBACK
from wiretrace_proxy.storage.rollup_writes import Cell, cell_of
from wiretrace_proxy.storage.rollups import ROLLUPS

__all__ = [
    "BATCH_SIZE",
    "POSTGRES_LOCK_KEY",
    "PurgeCounts",
    "count_purge",
    "purge",
    "purge_batch",
    "resum_costs",
]

BATCH_SIZE = 500
"""Old calls per transaction, at most (their children come with them): on SQLite each
holds the write lock the writer waits for."""

POSTGRES_LOCK_KEY = int.from_bytes(b"wtpurge!", "big")
"""The advisory lock purging replicas take turns on."""

_CELL_COLUMNS = ("started_at", "project", "kind", "model", "op_name", "op_version", "status")
_DIMENSIONS = ("hour", "project", "kind", "model", "op_name", "op_version", "status")


@dataclass(slots=True)
class PurgeCounts:
    """Rows removed (or, for a dry run, that would be), per table."""

    calls: int = 0
    feedback: int = 0
    call_rollups: int = 0
    """Rollup cells (an hour and dimensions) left with no call and removed."""

    def add(self, other: PurgeCounts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _old(before: datetime, project: str | None) -> sa.ColumnElement[bool]:
    where = CALLS.c.started_at < before
    return where if project is None else sa.and_(where, CALLS.c.project == project)


def _with_descendants(roots: sa.Select[Any], project: str | None) -> sa.Select[Any]:
    """The ids of ``roots`` (a select of ``id, trace_id``) and every call below them (of
    ``project`` only, if given: a purge of one project touches no other's calls)."""
    picked = roots.subquery()  # SQLite takes no LIMIT inside a compound's first part
    doomed = sa.select(picked.c.id, picked.c.trace_id).cte("doomed", recursive=True)
    below = sa.select(CALLS.c.id, CALLS.c.trace_id).join(
        doomed, sa.and_(CALLS.c.parent_id == doomed.c.id, CALLS.c.trace_id == doomed.c.trace_id)
    )
    if project is not None:
        below = below.where(CALLS.c.project == project)
    doomed = doomed.union(below)
    return sa.select(doomed.c.id)


def count_purge(engine: Engine, before: datetime, project: str | None = None) -> PurgeCounts:
    """What ``purge`` would remove now, removing nothing (the rollup cells are not counted:
    which ones empty depends on the deletes)."""
    old = sa.select(CALLS.c.id, CALLS.c.trace_id).where(_old(before, project))
    ids = _with_descendants(old, project)
    with engine.connect() as conn:
        calls = conn.execute(sa.select(sa.func.count()).select_from(ids.subquery())).scalar()
        feedback = conn.execute(
            sa.select(sa.func.count())
            .select_from(FEEDBACK)
            .where(FEEDBACK.c.call_id.in_(ids.scalar_subquery()))
        ).scalar()
    return PurgeCounts(calls=int(calls or 0), feedback=int(feedback or 0))


def purge(
    engine: Engine,
    before: datetime,
    project: str | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    between: Callable[[], bool] = lambda: True,
    counts: PurgeCounts | None = None,
) -> PurgeCounts:
    """Remove the calls that started before ``before`` (of ``project`` only, if given), batch
    by batch; what was removed, also added to ``counts`` as it goes (so a purge that failed
    half way still says what it did). ``between`` runs after each batch (pause there) and
    stops the purge by returning False; the rollups are made exact for what was removed."""
    total = PurgeCounts() if counts is None else counts
    kept: set[Cell] = set()
    try:
        while True:
            done, touched = purge_batch(engine, before, project, batch_size)
            total.add(done)
            kept |= touched
            if done.calls == 0 or not between():
                break
    finally:
        if kept:
            resum_costs(engine, kept)
    return total


def purge_batch(
    engine: Engine, before: datetime, project: str | None = None, batch_size: int = BATCH_SIZE
) -> tuple[PurgeCounts, set[Cell]]:
    """One transaction: up to ``batch_size`` of the oldest matching calls with their children
    and feedback removed. The counts, and the rollup cells that lost calls but kept some."""
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_LOCK_KEY})
        roots = (
            sa.select(CALLS.c.id, CALLS.c.trace_id)
            .where(_old(before, project))
            .order_by(CALLS.c.started_at, CALLS.c.id)
            .limit(batch_size)
        )
        ids = sorted(conn.execute(_with_descendants(roots, project)).scalars())
        if not ids:
            return PurgeCounts(), set()
        cells = {
            cell_of(dict(row))
            for row in conn.execute(
                sa.select(*(CALLS.c[c] for c in _CELL_COLUMNS)).where(CALLS.c.id.in_(ids))
            ).mappings()
        }
        counts = PurgeCounts()
        counts.feedback = conn.execute(
            sa.delete(FEEDBACK).where(FEEDBACK.c.call_id.in_(ids))
        ).rowcount
        counts.calls = conn.execute(sa.delete(CALLS).where(CALLS.c.id.in_(ids))).rowcount
        kept = _kept(conn, cells)
        counts.call_rollups = len(cells) - len(kept)
    return counts, kept


def _cell_match(table: sa.Table, cell: Cell) -> sa.ColumnElement[bool]:
    return sa.and_(*(table.c[name] == value for name, value in zip(_DIMENSIONS, cell, strict=True)))


def _kept(conn: Connection, cells: Iterable[Cell]) -> set[Cell]:
    """The cells among ``cells`` that still count calls (the trigger removed the others)."""
    return {
        cell
        for cell in cells
        if conn.execute(sa.select(ROLLUPS.c.calls).where(_cell_match(ROLLUPS, cell))).scalar()
    }


def _calls_of(cell: Cell) -> sa.ColumnElement[bool]:
    """The calls counted in ``cell`` (its UTC hour and dimensions; ``''`` for NULL)."""
    hour = datetime.fromisoformat(str(cell[0]))
    project, kind, model, op_name, op_version, status = cell[1:]
    start = hour.replace(tzinfo=UTC)
    return sa.and_(
        CALLS.c.started_at >= start,
        CALLS.c.started_at < start + timedelta(hours=1),
        CALLS.c.project == project,
        CALLS.c.kind == kind,
        sa.func.coalesce(CALLS.c.model, "") == model,
        CALLS.c.op_name == op_name,
        sa.func.coalesce(CALLS.c.op_version, "") == op_version,
        CALLS.c.status == status,
    )


def resum_costs(engine: Engine, cells: Iterable[Cell]) -> None:
    """Set each cell's ``cost_usd`` to the sum of its calls' costs, added in insert order
    (``rowid``) as ``rollup_writes`` adds them on SQLite (in id order on PostgreSQL, which
    adds them in commit order); one short transaction per cell."""
    for cell in sorted(cells, key=repr):
        with write_transaction(engine) as conn:
            # The cell's row first: a replica adding to it waits, or has committed its call.
            conn.execute(
                sa.select(ROLLUPS.c.calls).where(_cell_match(ROLLUPS, cell)).with_for_update()
            )
            order = CALLS.c.id if conn.dialect.name == "postgresql" else sa.literal_column("rowid")
            costs: Sequence[float | None] = (
                conn.execute(sa.select(CALLS.c.cost_usd).where(_calls_of(cell)).order_by(order))
                .scalars()
                .all()
            )
            total = 0.0
            for cost in costs:
                total += 0.0 if cost is None else cost
            conn.execute(
                sa.update(ROLLUPS).where(_cell_match(ROLLUPS, cell)).values(cost_usd=total)
            )
