"""One migrator at a time: a database-wide lock around "which revision? upgrade if needed".

Why: replicas started at the same moment against one database would each find it
unmigrated and each create ``alembic_version`` (the second one crashed on the duplicate).
Under this lock the first one migrates and the others, once it is done, find the database
at head and do nothing.

- PostgreSQL: a session-level ``pg_advisory_lock`` taken on a dedicated connection in
  autocommit (so it holds no transaction open), released after the migration's
  transaction ends, whether it committed or not. A replica that finds the lock taken logs
  one line and waits.
- SQLite: the migration's own transaction begins with ``BEGIN IMMEDIATE``, which takes the
  file's write lock before the revision is read, so two processes on one file serialise
  there. The busy timeout of that one connection is raised to ``SQLITE_WAIT_MS`` while it
  waits (a first migration of a big file can take longer than the usual 5 s), then restored.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from wiretrace_proxy.storage.engine import BEGIN_IMMEDIATE

__all__ = ["POSTGRES_LOCK_KEY", "SQLITE_WAIT_MS", "migration_transaction"]

log = logging.getLogger(__name__)

POSTGRES_LOCK_KEY = int.from_bytes(b"wiretrac", "big")
"""The advisory lock's key (a bigint): the bytes of ``wiretrac``, unlikely to clash."""

SQLITE_WAIT_MS = 600_000
"""How long a SQLite migrator waits for another process's migration (10 minutes)."""


@contextlib.contextmanager
def migration_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that no other migrator's overlaps; committed on exit
    (rolled back on an exception), then the lock released."""
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine), engine.begin() as conn:
            yield conn
    else:
        with _immediate(engine) as conn:
            yield conn


@contextlib.contextmanager
def _advisory_lock(engine: Engine) -> Iterator[None]:
    with engine.connect() as lock:
        lock.execution_options(isolation_level="AUTOCOMMIT")
        key = {"key": POSTGRES_LOCK_KEY}
        if not lock.execute(text("SELECT pg_try_advisory_lock(:key)"), key).scalar():
            log.info("storage: another wiretrace is migrating the database; waiting for it")
            lock.execute(text("SELECT pg_advisory_lock(:key)"), key)
        try:
            yield
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:key)"), key)


@contextlib.contextmanager
def _immediate(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None  # a checked-out connection has one
        cursor = raw.cursor()
        try:
            (usual,) = cursor.execute("PRAGMA busy_timeout").fetchone()
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_WAIT_MS}")
            try:
                conn.execution_options(**{BEGIN_IMMEDIATE: True})
                with conn.begin():
                    yield conn
            finally:
                cursor.execute(f"PRAGMA busy_timeout = {int(usual)}")
        finally:
            cursor.close()
