"""Reading calls back: one call by id, and every call of one trace."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.storage.models import CALLS
from wiretrace_proxy.storage.rows import row_to_record

__all__ = ["get_call", "trace_calls"]


def get_call(conn: Connection, call_id: str) -> CallRecord | None:
    """The record with this id, or None."""
    row = conn.execute(sa.select(CALLS).where(CALLS.c.id == call_id)).mappings().first()
    return row_to_record(row) if row is not None else None


def trace_calls(conn: Connection, trace_id: str, limit: int = 10_000) -> list[CallRecord]:
    """Every record of one trace, oldest first (proxied calls and SDK spans alike)."""
    stmt = (
        sa.select(CALLS)
        .where(CALLS.c.trace_id == trace_id)
        .order_by(CALLS.c.started_at, CALLS.c.id)
        .limit(limit)
    )
    return [row_to_record(row) for row in conn.execute(stmt).mappings()]
