"""Records into the ``calls`` table: the writer's batches and the SDK's span upserts.

Writes use SQLAlchemy Core, not the ORM: one ``INSERT`` executed with many parameter sets
costs a fraction of the CPU per row that ``session.add`` does, and CPU per recorded call is
what the writer thread spends. ``CallRecord`` stays the only shape callers see: rows are
converted at this boundary (usage flattened into token columns on the way in, rebuilt on the
way out).

``upsert_records`` is for SDK spans, whose start and end may arrive in either order: a
newer non-NULL value wins, a NULL never erases a stored value, and a ``running`` status
never replaces a final one. A span merges only into a row that is the same span: an SDK
span (``kind = 'op'``) of the same project and trace. Any other row with its id (a proxied
call, another project's record) is left as it is and the span is reported refused. The
check is the upsert's own ``WHERE``, so it holds under concurrent writers on SQLite and
PostgreSQL alike; the ids the statement did not return are the refused ones.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.storage import llm_merge, rollup_writes
from wiretrace_proxy.storage.engine import insert_many, write_transaction
from wiretrace_proxy.storage.models import CALLS
from wiretrace_proxy.storage.rows import record_to_row

__all__ = [
    "STORAGE_FAULTS",
    "BatchResult",
    "insert_records",
    "upsert_records",
    "write_batch",
]

_INSERT = sa.insert(CALLS)


def insert_records(conn: Connection, records: Sequence[CallRecord]) -> None:
    """Insert new records in one executemany; a duplicate id raises ``IntegrityError``.

    SQLite takes ``engine.insert_many``: the rows Core would store, at less CPU per row;
    then the rows are added to the stats rollups (``rollup_writes``) in the same
    transaction, so a refused batch counts nothing. Ingested OTLP spans already stored
    (sent again) are skipped, and each new LLM record is folded with its partner, an LLM
    span and the proxied call of the same request (``llm_merge``), in the same transaction.
    """
    records = llm_merge.without_stored(conn, records)
    rows = [record_to_row(rec) for rec in records]
    if rows and conn.dialect.name == "sqlite":
        insert_many(conn, CALLS, rows)
        rollup_writes.add_calls(conn, rows)
    elif rows:
        conn.execute(_INSERT, rows)
        rollup_writes.add_calls(conn, rows)
    llm_merge.fold_new(conn, records)


STORAGE_FAULTS: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    OSError,
)
"""Errors that mean the database itself is failing (down, read-only, full, locked) rather
than refusing one record (a duplicate id, a value it cannot store)."""


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What ``write_batch`` did; records neither written nor refused were not stored."""

    written: int = 0
    refused: tuple[tuple[str, Exception], ...] = ()
    """``(record id, error)`` for each record the database refused on its own."""
    split: bool = False
    """The batch was refused as a whole and retried record by record."""
    failure: Exception | None = None
    """The database failed: nothing in the batch was stored."""


def write_batch(
    engine: Engine, records: Sequence[CallRecord], replacing: Collection[str] = ()
) -> BatchResult:
    """Insert ``records`` in one transaction; if refused, one by one under savepoints.

    ``replacing``: ids of records in the batch whose ``running`` row (a long stream's record
    while it ran) is deleted in the same transaction, so the final record takes its place.

    The retry keeps every good record of a batch that held a bad one. A storage fault on the
    batch (locked, read-only, full, unreachable) is a ``failure`` at once: one try per record
    would cost a busy timeout each. Two storage faults in a row during the retry, or nothing
    stored and only storage faults, are a ``failure`` too; nothing is stored then.
    """
    try:
        with write_transaction(engine) as conn:
            _delete_running(conn, replacing)
            insert_records(conn, records)
    except STORAGE_FAULTS as exc:  # the database failed, not a record: retrying each is futile
        return BatchResult(split=True, failure=exc)
    except (sa_exc.SQLAlchemyError, OSError):
        return _write_each(engine, records, replacing)
    return BatchResult(written=len(records))


def _delete_running(conn: Connection, ids: Collection[str]) -> None:
    if ids:
        running = CALLS.c.status == "running"
        conn.execute(sa.delete(CALLS).where(CALLS.c.id.in_(sorted(ids)), running))


def _write_each(
    engine: Engine, records: Sequence[CallRecord], replacing: Collection[str] = ()
) -> BatchResult:
    written = 0
    refused: list[tuple[str, Exception]] = []
    streak = 0
    try:
        with write_transaction(engine) as conn:
            for rec in records:
                try:
                    with conn.begin_nested():
                        _delete_running(conn, [rec.id] if rec.id in replacing else [])
                        insert_records(conn, [rec])
                except (sa_exc.SQLAlchemyError, OSError) as exc:
                    refused.append((rec.id, exc))
                    streak = streak + 1 if isinstance(exc, STORAGE_FAULTS) else 0
                    if streak >= 2:
                        raise
                else:
                    written += 1
                    streak = 0
    except (sa_exc.SQLAlchemyError, OSError) as exc:
        return BatchResult(split=True, failure=exc)
    if refused and not written and all(isinstance(e, STORAGE_FAULTS) for _, e in refused):
        return BatchResult(split=True, failure=refused[-1][1])  # nothing went in: storage
    return BatchResult(written=written, refused=tuple(refused), split=True)


def _insert_module(dialect: str) -> Any:
    """``sqlite.insert`` or ``postgresql.insert``: the same API, no common base type."""
    if dialect == "sqlite":
        return sqlite.insert
    if dialect == "postgresql":
        return postgresql.insert
    raise NotImplementedError(f"upsert is not implemented for {dialect}")


def _insert_new_statement(dialect: str) -> sa.Insert:
    """``INSERT .. ON CONFLICT (id) DO NOTHING RETURNING id``: the ids it returns are new rows."""
    insert = _insert_module(dialect)(CALLS).on_conflict_do_nothing(index_elements=["id"])
    return cast(sa.Insert, insert.returning(CALLS.c.id))


def _upsert_statement(dialect: str) -> sa.Insert:
    """``INSERT .. ON CONFLICT (id) DO UPDATE .. WHERE <same span> RETURNING id``, merging a
    span's start and end rows and refusing to touch any other row."""
    insert = _insert_module(dialect)(CALLS)
    new = insert.excluded
    merged: dict[str, sa.ColumnElement[Any]] = {
        col.name: sa.func.coalesce(new[col.name], col)
        for col in CALLS.c
        if col.name not in {"id", "status"}
    }
    merged["status"] = sa.case((new.status == "running", CALLS.c.status), else_=new.status)
    same_span = sa.and_(
        CALLS.c.kind == "op",
        new.kind == "op",
        CALLS.c.project == new.project,
        CALLS.c.trace_id == new.trace_id,
    )
    upsert = insert.on_conflict_do_update(index_elements=["id"], set_=merged, where=same_span)
    return cast(sa.Insert, upsert.returning(CALLS.c.id))


_STATEMENTS: dict[tuple[str, str], sa.Insert] = {}


def _statement(kind: str, dialect: str) -> sa.Insert:
    stmt = _STATEMENTS.get((kind, dialect))
    if stmt is None:
        make = _insert_new_statement if kind == "new" else _upsert_statement
        stmt = _STATEMENTS[(kind, dialect)] = make(dialect)
    return stmt


def upsert_records(conn: Connection, records: Sequence[CallRecord]) -> list[str]:
    """Insert SDK span records, merging each into the row of the same span if there is one
    (SQLite and PostgreSQL); the ids refused, in ``records`` order.

    Refused: an id that names a row which is not this span (a proxied call, or a span of
    another project or trace); that row is not changed. The others are written either
    way: the caller's transaction decides whether a refusal keeps them. One record per id.

    Two statements: the records whose id is new are inserted first (``DO NOTHING``) and
    added to the rollups (``rollup_writes``), exactly once; the rest are merged into their
    rows, where the rollups' update trigger subtracts the old row and adds the merged one.

    Rows go in id order: two replicas upserting overlapping spans (a span's start through
    one, its end through the other) then lock the rows they share in the same order, and
    cannot deadlock on PostgreSQL.
    """
    if not records:
        return []
    dialect = conn.dialect.name
    rows = sorted((record_to_row(rec) for rec in records), key=lambda row: str(row["id"]))
    inserted = set(conn.execute(_statement("new", dialect), rows).scalars())
    rollup_writes.add_calls(conn, [row for row in rows if row["id"] in inserted])
    rest = [row for row in rows if row["id"] not in inserted]
    merged = set(conn.execute(_statement("merge", dialect), rest).scalars()) if rest else set()
    return [rec.id for rec in records if rec.id not in inserted and rec.id not in merged]
