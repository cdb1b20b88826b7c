"""Reads and writes of the ``calls`` table; with ``writer``, the only code that touches SQL.

Writes use SQLAlchemy Core, not the ORM: one ``INSERT`` executed with many parameter sets
costs a fraction of the CPU per row that ``session.add`` does, and CPU per recorded call is
what the writer thread spends. ``CallRecord`` stays the only shape callers see: rows are
converted at this boundary (usage flattened into token columns on the way in, rebuilt on the
way out).

``upsert_records`` is for SDK spans, whose start and end may arrive in either order: a
newer non-NULL value wins, a NULL never erases a stored value, and a ``running`` status
never replaces a final one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, RowMapping

from wiretrace_proxy.callrecord import JSON, USAGE_KEYS, CallRecord, JSONObject, Usage
from wiretrace_proxy.storage.engine import insert_many
from wiretrace_proxy.storage.models import Call

__all__ = [
    "CALLS",
    "STORAGE_FAULTS",
    "BatchResult",
    "count_calls",
    "get_call",
    "insert_records",
    "list_calls",
    "record_to_row",
    "row_to_record",
    "trace_calls",
    "upsert_records",
    "write_batch",
]

CALLS: sa.Table = cast(sa.Table, Call.__table__)  # type: ignore[attr-defined]
"""The ``calls`` table as a Core ``Table``."""

_INSERT = sa.insert(CALLS)
_ORDER = (CALLS.c.started_at.desc(), CALLS.c.id.desc())


def record_to_row(rec: CallRecord) -> dict[str, object]:
    """The column values for one record (usage spread over the token columns)."""
    usage = rec.usage
    return {
        "id": rec.id,
        "project": rec.project,
        "kind": rec.kind,
        "trace_id": rec.trace_id,
        "parent_id": rec.parent_id,
        "op_name": rec.op_name,
        "display_name": rec.display_name,
        "started_at": rec.started_at,
        "ended_at": rec.ended_at,
        "latency_ms": rec.latency_ms,
        "ttft_ms": rec.ttft_ms,
        "overhead_ms": rec.overhead_ms,
        "status": rec.status,
        "http_status": rec.http_status,
        "model": rec.model,
        "response_model": rec.response_model,
        "prompt_tokens": usage.prompt_tokens if usage else None,
        "completion_tokens": usage.completion_tokens if usage else None,
        "total_tokens": usage.total_tokens if usage else None,
        "cached_tokens": usage.cached_tokens if usage else None,
        "reasoning_tokens": usage.reasoning_tokens if usage else None,
        "usage_source": rec.usage_source,
        "cost_usd": rec.cost_usd,
        "session_id": rec.session_id,
        "user_id": rec.user_id,
        "key_fingerprint": rec.key_fingerprint,
        "inputs": rec.inputs,
        "output": rec.output,
        "error": rec.error,
        "attributes": rec.attributes,
        "op_version": rec.op_version,
        "model_version": rec.model_version,
        "prompt_digest": rec.prompt_digest,
    }


def row_to_record(row: RowMapping) -> CallRecord:
    """A ``CallRecord`` from a ``calls`` row mapping.

    ``usage`` is None when every token column is NULL (a stored ``Usage()`` with no counts
    reads back as None).
    """
    tokens = {key: row[key] for key in USAGE_KEYS}
    usage = Usage(**tokens) if any(v is not None for v in tokens.values()) else None
    return CallRecord(
        id=row["id"],
        project=row["project"],
        trace_id=row["trace_id"],
        parent_id=row["parent_id"],
        op_name=row["op_name"],
        display_name=row["display_name"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        latency_ms=row["latency_ms"],
        ttft_ms=row["ttft_ms"],
        overhead_ms=row["overhead_ms"],
        status=row["status"],
        http_status=row["http_status"],
        model=row["model"],
        response_model=row["response_model"],
        inputs=cast(JSON, row["inputs"]),
        output=cast(JSON, row["output"]),
        usage=usage,
        usage_source=row["usage_source"],
        cost_usd=row["cost_usd"],
        error=cast(JSONObject | None, row["error"]),
        session_id=row["session_id"],
        user_id=row["user_id"],
        key_fingerprint=row["key_fingerprint"],
        attributes=cast(JSONObject, row["attributes"] or {}),
        kind=row["kind"],
        op_version=row["op_version"],
        model_version=row["model_version"],
        prompt_digest=row["prompt_digest"],
    )


def insert_records(conn: Connection, records: Sequence[CallRecord]) -> None:
    """Insert new records in one executemany; a duplicate id raises ``IntegrityError``.

    SQLite takes ``engine.insert_many``: the rows Core would store, at less CPU per row.
    """
    rows = [record_to_row(rec) for rec in records]
    if rows and conn.dialect.name == "sqlite":
        insert_many(conn, CALLS, rows)
    elif rows:
        conn.execute(_INSERT, rows)


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


def write_batch(engine: Engine, records: Sequence[CallRecord]) -> BatchResult:
    """Insert ``records`` in one transaction; if refused, one by one under savepoints.

    The retry keeps every good record of a batch that held a bad one. Two storage faults in
    a row, or nothing stored and only storage faults, mean the database is failing rather
    than the data: the result is then a ``failure`` and nothing is stored.
    """
    try:
        with engine.begin() as conn:
            insert_records(conn, records)
    except (sa_exc.SQLAlchemyError, OSError):
        return _write_each(engine, records)
    return BatchResult(written=len(records))


def _write_each(engine: Engine, records: Sequence[CallRecord]) -> BatchResult:
    written = 0
    refused: list[tuple[str, Exception]] = []
    streak = 0
    try:
        with engine.begin() as conn:
            for rec in records:
                try:
                    with conn.begin_nested():
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


def _upsert_statement(dialect: str) -> sa.Insert:
    """``INSERT .. ON CONFLICT (id) DO UPDATE`` merging a span's start and end rows."""
    insert: Any  # sqlite.Insert or postgresql.Insert: same API, no common base type
    if dialect == "sqlite":
        insert = sqlite.insert(CALLS)
    elif dialect == "postgresql":
        insert = postgresql.insert(CALLS)
    else:
        raise NotImplementedError(f"upsert is not implemented for {dialect}")
    new = insert.excluded
    merged: dict[str, sa.ColumnElement[Any]] = {
        col.name: sa.func.coalesce(new[col.name], col)
        for col in CALLS.c
        if col.name not in {"id", "status"}
    }
    merged["status"] = sa.case((new.status == "running", CALLS.c.status), else_=new.status)
    return cast(sa.Insert, insert.on_conflict_do_update(index_elements=["id"], set_=merged))


_UPSERTS: dict[str, sa.Insert] = {}


def upsert_records(conn: Connection, records: Sequence[CallRecord]) -> None:
    """Insert records, merging into any row with the same id (SQLite and PostgreSQL)."""
    if not records:
        return
    dialect = conn.dialect.name
    stmt = _UPSERTS.get(dialect)
    if stmt is None:
        stmt = _UPSERTS[dialect] = _upsert_statement(dialect)
    conn.execute(stmt, [record_to_row(rec) for rec in records])


def list_calls(
    conn: Connection,
    *,
    project: str | None = None,
    op_name: str | None = None,
    model: str | None = None,
    status: str | None = None,
    trace_id: str | None = None,
    before: tuple[datetime, str] | None = None,
    limit: int = 50,
) -> list[CallRecord]:
    """Records matching every given filter, newest first (``started_at``, then ``id``).

    ``before`` is a keyset cursor ``(started_at, id)`` of the last row already seen: only
    rows strictly after it in this order are returned, so pages never repeat or skip rows.
    """
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    filters = {
        "project": project,
        "op_name": op_name,
        "model": model,
        "status": status,
        "trace_id": trace_id,
    }
    stmt = sa.select(CALLS).order_by(*_ORDER).limit(limit)
    for name, value in filters.items():
        if value is not None:
            stmt = stmt.where(CALLS.c[name] == value)
    if before is not None:
        started_at, call_id = before
        stmt = stmt.where(
            sa.or_(
                CALLS.c.started_at < started_at,
                sa.and_(CALLS.c.started_at == started_at, CALLS.c.id < call_id),
            )
        )
    return [row_to_record(row) for row in conn.execute(stmt).mappings()]


def trace_calls(conn: Connection, trace_id: str, limit: int = 10_000) -> list[CallRecord]:
    """Every record of one trace, oldest first (proxied calls and SDK spans alike)."""
    stmt = (
        sa.select(CALLS)
        .where(CALLS.c.trace_id == trace_id)
        .order_by(CALLS.c.started_at, CALLS.c.id)
        .limit(limit)
    )
    return [row_to_record(row) for row in conn.execute(stmt).mappings()]


def get_call(conn: Connection, call_id: str) -> CallRecord | None:
    """The record with this id, or None."""
    row = conn.execute(sa.select(CALLS).where(CALLS.c.id == call_id)).mappings().first()
    return row_to_record(row) if row is not None else None


def count_calls(conn: Connection, *, project: str | None = None) -> int:
    """How many records are stored (in one project, if given)."""
    stmt = sa.select(sa.func.count()).select_from(CALLS)
    if project is not None:
        stmt = stmt.where(CALLS.c.project == project)
    return int(conn.execute(stmt).scalar_one())
