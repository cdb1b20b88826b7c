"""Database reads for API handlers: on a worker thread, stopped when the client goes away.

A text search for a word found nowhere scans every stored body (seconds on a million
calls). When the browser gives up on it (a new keystroke, a closed tab), aiohttp cancels the
handler, but a statement running on a worker thread would go on to the end, holding one
of the few executor threads and the database while newer requests queue behind it. So
``read`` interrupts the running statement when it is cancelled: SQLite's
``sqlite3_interrupt`` and psycopg's ``cancel`` are both made to be called from another
thread; the worker then fails with "interrupted", which nobody is waiting for any more.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.engine import Connection, Engine

__all__ = ["interrupt", "read"]

log = logging.getLogger(__name__)

T = TypeVar("T")


async def read(engine: Engine, fn: Callable[[Connection], T]) -> T:
    """``fn(conn)`` on a worker thread with a connection of ``engine``, interrupted if the
    awaiting request is cancelled."""
    active: list[Connection] = []

    def work() -> T:
        with engine.connect() as conn:
            active.append(conn)
            try:
                return fn(conn)
            finally:
                active.clear()

    try:
        return await asyncio.to_thread(work)
    except asyncio.CancelledError:
        for conn in list(active):
            interrupt(conn)
        raise


def interrupt(conn: Connection) -> None:
    """Stop the statement ``conn`` is running on another thread (no-op when idle)."""
    try:
        raw = conn.connection.dbapi_connection
        stop = getattr(raw, "interrupt", None) or getattr(raw, "cancel", None)
        if stop is not None:
            stop()
    except Exception as exc:  # best effort: the query then simply runs to its end
        log.debug("storage: cannot interrupt a cancelled read: %s", exc)
