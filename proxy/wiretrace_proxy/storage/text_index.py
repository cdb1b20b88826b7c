"""SQLite's text search index, filled in batches off the write path.

A call's insert only queues its rowid in ``call_text_pending`` (a trigger, migration 0014);
``index_pending`` moves queued calls into the FTS5 ``call_text`` table thousands per
transaction. Why: FTS5 writes an index segment per commit and merges them as they pile up,
so indexing each of the writer's small transactions cost about twice the rest of the
insert, while one batch of thousands costs a few percent of it. Search reads queued calls
as candidates (``storage.filters``), so results never miss a call meanwhile; the queue is
only ever as long as the last few seconds of traffic.

``TextIndexer`` decides when, for the writer thread: once ``min_rows`` calls were written
since it last ran, or ``max_wait`` seconds after the first of them. PostgreSQL needs none of
this (its ``pg_trgm`` indexes buffer new entries themselves), so there it does nothing.
"""

from __future__ import annotations

import logging
import time

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from wiretrace_proxy.storage.engine import describe_error, write_transaction

__all__ = ["BATCH", "TextIndexer", "index_all", "index_pending"]

log = logging.getLogger(__name__)

BATCH = 5_000
"""Calls indexed per transaction: large enough to amortise FTS5's per-commit segment, small
enough that the write lock is held for well under a second."""

_LAST_OF_BATCH = sa.text(
    "SELECT max(call_rowid) FROM"
    " (SELECT call_rowid FROM call_text_pending ORDER BY call_rowid LIMIT :limit)"
)
_INDEX = sa.text(
    "INSERT INTO call_text (rowid, inputs, output) SELECT c.rowid, c.inputs, c.output"
    " FROM call_text_pending AS p JOIN calls AS c ON c.rowid = p.call_rowid"
    " WHERE p.call_rowid <= :last"
)
_DEQUEUE = sa.text("DELETE FROM call_text_pending WHERE call_rowid <= :last")


def index_pending(conn: Connection, limit: int = BATCH) -> int:
    """Index up to ``limit`` queued calls (the oldest first) in ``conn``'s transaction; the
    number indexed. Run it in a write transaction: the queue and the index move together."""
    if conn.dialect.name != "sqlite":
        return 0
    last = conn.execute(_LAST_OF_BATCH, {"limit": limit}).scalar()
    if last is None:
        return 0
    conn.execute(_INDEX, {"last": last})
    return conn.execute(_DEQUEUE, {"last": last}).rowcount


def index_all(engine: Engine, limit: int = BATCH) -> int:
    """Index every queued call, ``limit`` per transaction; the number indexed."""
    total = 0
    while True:
        with write_transaction(engine) as conn:
            done = index_pending(conn, limit)
        total += done
        if done < limit:
            return total


class TextIndexer:
    """When the writer thread indexes queued calls; see the module docstring."""

    def __init__(
        self, engine: Engine, *, min_rows: int = 2_000, max_wait: float = 2.0, limit: int = BATCH
    ) -> None:
        self._engine = engine
        self._active = engine.dialect.name == "sqlite"
        self._min_rows = min_rows
        self._max_wait = max_wait
        self._limit = limit
        self._written_then = 0
        self._first_unindexed: float | None = time.monotonic()  # what an earlier run left
        self._failing = False

    def after_writes(self, written: int) -> None:
        """Called by the writer after each cycle with its running count of rows written:
        index one batch if it is due. Never raises (search reads the queue meanwhile)."""
        if not self._active:
            return
        now = time.monotonic()
        if written != self._written_then and self._first_unindexed is None:
            self._first_unindexed = now
        if self._first_unindexed is None:
            return
        if written - self._written_then < self._min_rows and now - self._first_unindexed < (
            self._max_wait
        ):
            return
        try:
            with write_transaction(self._engine) as conn:
                done = index_pending(conn, self._limit)
        except Exception as exc:  # fail-open boundary: the queue keeps them, retry later
            if not self._failing:
                log.warning("storage: text index update failed (%s); retrying", describe_error(exc))
            self._failing = True
            self._first_unindexed = now
            return
        self._failing = False
        self._written_then = written
        # A full batch may have left more queued: due again at the next cycle.
        self._first_unindexed = now - self._max_wait if done >= self._limit else None
