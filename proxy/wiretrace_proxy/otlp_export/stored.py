"""The stored version of calls the exporter held back: read by id when their window has
passed, so a call folded with its app's span meanwhile is exported folded (in the app's
trace). Runs on the export thread, one query per batch of ids."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.storage.models import CALLS
from wiretrace_proxy.storage.rows import row_to_record

__all__ = ["stored_records"]


def stored_records(engine: Engine, ids: Sequence[str]) -> dict[str, CallRecord]:
    """The records with ``ids`` still stored, by id."""
    if not ids:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(sa.select(CALLS).where(CALLS.c.id.in_(list(ids)))).mappings()
        return {row["id"]: row_to_record(row) for row in rows}
