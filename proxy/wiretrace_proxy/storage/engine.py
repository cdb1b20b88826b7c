"""Database engines: one place that knows how to open SQLite and PostgreSQL well.

SQLite is the zero-setup default, so its file's folder is created and each connection gets
the pragmas a concurrent writer-plus-readers workload needs: WAL (readers never block the
writer), ``synchronous=NORMAL`` (durable at checkpoints, far fewer fsyncs), a busy timeout,
and foreign keys. pysqlite's own transaction handling is switched off in favour of an
explicit ``BEGIN`` so that transactions and SAVEPOINTs behave as SQLAlchemy documents
(pysqlite otherwise defers ``BEGIN`` and lets a released savepoint commit). An in-memory
database (``sqlite://``, ``:memory:``) is one connection every thread shares, in turn.

PostgreSQL URLs are routed to the psycopg 3 driver, an optional extra
(``pip install 'wiretrace[postgres]'``). ``check_database`` proves the database can be
opened and written (a committed write), or says why not in one ``StorageUnavailable`` line
the CLI can print before exiting.

A SQLite file deleted or replaced under a running server is noticed by
``reopen_if_replaced`` (one ``os.stat`` per call) and opened anew at its path; pooled
connections would otherwise go on writing to the vanished file.

``insert_many`` is the writer's SQLite fast path: the same rows Core would store, for a
fraction of the CPU per row (see its docstring).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import operator
import os
import re
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Connection, Dialect, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from wiretrace_proxy import jsonsafe
from wiretrace_proxy.errors import ConfigError, StorageUnavailable

__all__ = [
    "ACCEPTED_URLS",
    "BEGIN_IMMEDIATE",
    "DEFAULT_BUSY_TIMEOUT_MS",
    "check_database",
    "create_engine_for",
    "describe_error",
    "insert_many",
    "is_memory",
    "parse_database_url",
    "reopen_if_replaced",
    "safe_url",
    "write_transaction",
]

log = logging.getLogger(__name__)

DEFAULT_BUSY_TIMEOUT_MS = 5000
"""How long a SQLite connection waits for a lock before failing with "database is locked"."""

_POSTGRES_NAMES = {"postgresql", "postgres", "postgresql+psycopg"}

BEGIN_IMMEDIATE = "wiretrace_begin_immediate"
"""A connection execution option: on SQLite, its transactions begin with ``BEGIN
IMMEDIATE`` (the write lock taken first, waiting the busy timeout) instead of ``BEGIN``.
For a transaction that reads and then writes while other processes write the same file: a
deferred one that read first fails at once when another writer got in between."""


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that reads before it writes: on SQLite begun ``IMMEDIATE``
    (``BEGIN_IMMEDIATE``), so it waits its turn behind another writer instead of failing
    with "database is locked" the moment that writer commits; plain elsewhere."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execution_options(**{BEGIN_IMMEDIATE: True})
        with conn.begin():
            yield conn


_dumps = jsonsafe.encoder()
"""JSON for JSON columns: compact, ASCII-escaped (a lone surrogate cannot break a row), one
reused encoder, and always valid JSON: a non-finite number that reached storage is spelled
as a string (``jsonsafe``), so the value is stored rather than refused and SQLite's JSON
functions never meet ``NaN``."""

_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")
r"""``\u0000`` as a JSON escape: preceded by an even number of backslashes (maybe none)."""

_SURROGATE_ESCAPE = re.compile(
    r"(?<!\\)((?:\\\\)*)(\\ud[89ab][0-9a-f]{2}\\ud[c-f][0-9a-f]{2}|\\ud[89a-f][0-9a-f]{2})"
)
r"""A surrogate escape (the encoder writes lowercase hex): a high and low pair, or a lone
one, preceded by an even number of backslashes."""


def _lone_to_replacement(match: re.Match[str]) -> str:
    escape = match.group(2)
    return match.group(0) if len(escape) == 12 else match.group(1) + "\\ufffd"


def _dumps_postgresql(value: object) -> str:
    """JSON for JSONB, which refuses NUL characters and lone surrogates (a ``"\\ud800"``
    in a body): each becomes U+FFFD rather than the whole record being refused (a body
    with one in it is still recorded)."""
    text = _dumps(value)
    if "\\u0000" in text:
        text = _NUL_ESCAPE.sub(r"\1\\ufffd", text)
    if "\\ud" in text:
        text = _SURROGATE_ESCAPE.sub(_lone_to_replacement, text)
    return text


ACCEPTED_URLS = "sqlite:///PATH, a file path, :memory:, or postgresql://..."
"""The database URLs wiretrace can store to, for messages."""


def parse_database_url(url: str) -> URL:
    """``url`` parsed, if wiretrace can store to it; else one ``ConfigError`` line saying
    what is accepted.

    Checked before a server starts: ``sqlite:///`` with no path would otherwise open an
    empty in-memory database per thread (migrated on one, written on another), and an
    unsupported scheme would fail deep inside SQLAlchemy with a traceback.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"invalid database URL {url!r}; use {ACCEPTED_URLS}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database == "":
            raise ConfigError(
                "sqlite:/// needs a file path after it (sqlite:///wiretrace.db), "
                "or use :memory: to keep nothing"
            )
        return parsed
    if parsed.drivername in _POSTGRES_NAMES:
        return parsed
    shown = parsed.render_as_string(hide_password=True)
    raise ConfigError(f"unsupported database {shown}; use {ACCEPTED_URLS}")


def is_memory(url: URL) -> bool:
    """A SQLite database that lives in the process only (``sqlite://``, ``:memory:``)."""
    return url.get_backend_name() == "sqlite" and url.database in (None, ":memory:")


def create_engine_for(url: str, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> Engine:
    """An engine for ``sqlite:///path``, in-memory SQLite or ``postgresql://...``,
    configured for wiretrace.

    Raises ``ConfigError`` for a URL ``parse_database_url`` refuses or a missing PostgreSQL
    driver. Nothing is connected yet: call ``check_database`` to find out whether the
    database can be opened.
    """
    parsed = parse_database_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, busy_timeout_ms)
    if importlib.util.find_spec("psycopg") is None:
        raise ConfigError("PostgreSQL needs the psycopg driver: pip install 'wiretrace[postgres]'")
    parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, json_serializer=_dumps_postgresql, pool_pre_ping=True)


def _sqlite_engine(url: URL, busy_timeout_ms: int) -> Engine:
    if is_memory(url):
        engine = _memory_engine(url)
    else:
        database = url.database or ""
        if not database.startswith("file:"):
            # Best effort: an unusable folder is reported by check_database, in one line.
            with contextlib.suppress(OSError):
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, json_serializer=_dumps, connect_args={"check_same_thread": False}
        )
    _configure_sqlite(engine, busy_timeout_ms)
    if (path := _sqlite_file(url)) is not None:
        _watch_file(engine, path)
    return engine


def _memory_engine(url: URL) -> Engine:
    """In-memory SQLite shared by every thread: one connection, lent to one thread at a time.

    Why: an in-memory database exists only within its connection, and SQLAlchemy's default
    pool for it gives each thread its own, so the writer thread would store calls in a
    database the API threads never see.
    """
    return create_engine(
        url,
        json_serializer=_dumps,
        poolclass=_LendingPool,
        connect_args={"check_same_thread": False},
    )


class _LendingPool(StaticPool):
    """``StaticPool`` (one connection for all) that lends it to one thread at a time.

    A shared connection has one transaction: without the lock a reader handing it back
    (and so rolling back) would end the writer's transaction half way, and a second
    checkout would steal the first one's pool entry. The lock is taken before the pool
    hands the connection out and released after its reset on return.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lent = threading.RLock()

    def _do_get(self) -> ConnectionPoolEntry:
        self._lent.acquire()
        try:
            return super()._do_get()
        except BaseException:
            self._lent.release()
            raise

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        super()._do_return_conn(record)
        self._lent.release()


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            # Each insert into ``calls`` fires triggers, so SQLite keeps a statement journal
            # (the pages it touches, to undo the row alone); in a temporary file that cost
            # about as much as the rest of the insert (25 indexes), in memory a few pages.
            cursor.execute("PRAGMA temp_store = MEMORY")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(BEGIN_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def safe_url(engine: Engine) -> str:
    """The engine's URL with any password masked, for messages and logs."""
    return engine.url.render_as_string(hide_password=True)


def check_database(engine: Engine) -> None:
    """Open the database and commit a write that changes nothing; raise
    ``StorageUnavailable`` with one line if either fails.

    Why a write: a read-only database (a read-only file or mount, ``chattr +i``, a standby)
    opens and answers ``SELECT 1``, and then every record would be lost. SQLite writes
    nothing before a commit, so the probe commits: under ``BEGIN IMMEDIATE`` it sets the
    header's ``user_version`` to its own value, which writes a page (to the WAL) and leaves
    the database as it was. PostgreSQL is asked whether it is a standby or read-only, then
    commits ``alembic_version`` updated to itself (wiretrace's tables take writes); a
    database never migrated commits a transaction id, and the migrations that follow are
    its first writes.

    Messages: ``cannot open database sqlite:////nope/x.db: unable to open database file``,
    ``cannot write to database sqlite:////data/x.db: attempt to write a readonly database``.
    """
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1")).scalar_one()
    except (SQLAlchemyError, OSError) as exc:
        raise StorageUnavailable(
            f"cannot open database {safe_url(engine)}: {describe_error(exc)}"
        ) from exc
    try:
        if engine.dialect.name == "sqlite":
            _sqlite_write_probe(engine)
        else:
            _postgresql_write_probe(engine)
    except (SQLAlchemyError, OSError, engine.dialect.loaded_dbapi.Error, _ReadOnly) as exc:
        raise StorageUnavailable(
            f"cannot write to database {safe_url(engine)}: {describe_error(exc)}"
        ) from exc


class _ReadOnly(Exception):
    """The database said it takes no writes (a standby, a read-only session)."""


def _sqlite_write_probe(engine: Engine) -> None:
    """A committed write that changes nothing (see ``check_database``).

    On the driver connection: SQLAlchemy would begin with a plain ``BEGIN``, and a deferred
    transaction that reads and then writes can fail at once when another writer got in
    between; ``BEGIN IMMEDIATE`` takes the write lock first (waiting the busy timeout)."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            (version,) = cursor.execute("PRAGMA user_version").fetchone()
            cursor.execute(f"PRAGMA user_version = {int(version)}")
            cursor.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):  # the first error is the one to report
                raw.rollback()
            raise
        finally:
            cursor.close()
    finally:
        raw.close()


def _postgresql_write_probe(engine: Engine) -> None:
    with engine.begin() as conn:
        standby, read_only = conn.execute(
            text("SELECT pg_is_in_recovery(), current_setting('transaction_read_only')")
        ).one()
        if standby:
            raise _ReadOnly("the server is a read-only standby (in recovery)")
        if read_only == "on":
            raise _ReadOnly("the session is read-only (default_transaction_read_only is on)")
        if conn.execute(text("SELECT to_regclass('alembic_version')")).scalar_one() is None:
            conn.execute(text("SELECT txid_current()"))  # its commit is written and flushed
        else:
            conn.execute(text("UPDATE alembic_version SET version_num = version_num"))


def describe_error(exc: BaseException) -> str:
    """The first line of the driver's own message, without SQLAlchemy's SQL and links."""
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(inner).strip().splitlines()
    return lines[0] if lines else type(inner).__name__


def reopen_if_replaced(engine: Engine) -> bool:
    """Open the SQLite file anew if it was deleted or replaced since the engine first
    connected; True if it did. Cheap enough before every batch: one ``os.stat``.

    Why: pooled connections keep the file they opened, so a database file deleted (its
    folder ``rm -rf``'d) or replaced (a backup moved into place) under a running server
    would go on taking writes that no one will ever read. When the path no longer names
    the file first connected to (``st_dev``, ``st_ino``), the pool is disposed of, the
    folder recreated, the file at the path migrated to head (a new file is created), its
    identity recorded, and one warning logged. Raises ``StorageUnavailable`` if that
    fails, so the caller treats storage as down (the next call tries again). In-memory
    SQLite and PostgreSQL: always False.
    """
    watch = _WATCHES.get(engine)
    if watch is None or watch.identity is None or _identity(watch.path) == watch.identity:
        return False
    from wiretrace_proxy.storage.migrate import upgrade_to_head  # migrate imports the models

    with watch.lock:  # a second caller waits, then finds the new identity recorded
        old = watch.identity
        now = _identity(watch.path)
        if now == old:
            return False
        engine.dispose()
        try:
            watch.path.parent.mkdir(parents=True, exist_ok=True)
            _drop_stale_siblings(watch)
            watch.identity = None  # the connect below records the file it opens
            upgrade_to_head(engine)
            if watch.identity is None:  # recorded by the connect listener
                raise FileNotFoundError(f"{watch.path} vanished while it was reopened")
        except (SQLAlchemyError, OSError) as exc:
            watch.identity = old  # still replaced: the next call tries again
            raise StorageUnavailable(
                f"cannot reopen database {safe_url(engine)}: {describe_error(exc)}"
            ) from exc
    log.warning(
        "storage: database file %s was %s while the server ran; opened the file now at "
        "that path and migrated it (records written before are in the old file, if any)",
        watch.path,
        "deleted" if now is None else "replaced",
    )
    return True


@dataclass(slots=True)
class _FileWatch:
    """Which file a SQLite engine's path named when it connected (``reopen_if_replaced``)."""

    path: Path
    identity: tuple[int, int] | None = None
    """(st_dev, st_ino) of the database file when the engine first connected."""
    siblings: dict[str, tuple[int, int] | None] = field(default_factory=dict)
    """``-wal`` and ``-shm`` -> the identity the engine's latest connection saw."""
    lock: threading.Lock = field(default_factory=threading.Lock)


_WATCHES: weakref.WeakKeyDictionary[Engine, _FileWatch] = weakref.WeakKeyDictionary()


def _sqlite_file(url: URL) -> Path | None:
    """The file a SQLite URL names (a ``file:`` URI's path too); None for memory."""
    database = url.database or ""
    if database.startswith("file:"):
        parts = urlsplit(database)
        if "mode=memory" in parts.query or not parts.path:
            return None
        database = unquote(parts.path)
    if database in ("", ":memory:"):
        return None
    return Path(database).expanduser().absolute()


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return st.st_dev, st.st_ino


_SIBLINGS = ("-wal", "-shm")


def _drop_stale_siblings(watch: _FileWatch) -> None:
    """Remove the old file's ``-wal`` and ``-shm`` once the path names another file.

    Why: SQLite keeps them when a connection to a deleted or moved file closes, and a
    connection to the file now at the path would read the old file's WAL as its own
    (measured: a replacement then showed the old file's tables). Only the very files the
    engine's own connections used are removed, never a replacement's own.
    """
    for suffix in _SIBLINGS:
        sibling = watch.path.with_name(watch.path.name + suffix)
        seen = watch.siblings.get(suffix)
        if seen is not None and seen == _identity(sibling):
            sibling.unlink(missing_ok=True)


def _watch_file(engine: Engine, path: Path) -> None:
    watch = _WATCHES[engine] = _FileWatch(path)

    @event.listens_for(engine, "do_connect")
    def _before_connect(*_args: Any) -> None:
        # Any thread's new connection (an API read too) opens the path: not with a WAL
        # left by the file that was there before.
        if watch.identity is not None and _identity(path) != watch.identity:
            _drop_stale_siblings(watch)

    @event.listens_for(engine, "connect")
    def _remember(_dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # After _configure_sqlite's listener: WAL mode is on, so the -wal file exists.
        if watch.identity is None:
            watch.identity = _identity(path)
        if watch.identity == _identity(path):  # not a connection to a replacement
            for suffix in _SIBLINGS:
                watch.siblings[suffix] = _identity(path.with_name(path.name + suffix))


@dataclass(frozen=True, slots=True)
class _InsertPlan:
    """One table and column set: the compiled INSERT and how to encode a row for it."""

    sql: str
    values: Callable[[Mapping[str, object]], tuple[object, ...]]
    """The row's values in the statement's parameter order."""
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]
    """(position, SQLAlchemy's bind processor) for each column that has one."""

    def encode(self, row: Mapping[str, object]) -> tuple[object, ...]:
        values = self.values(row)
        if not self.processors:
            return values
        out = list(values)
        for i, process in self.processors:
            out[i] = process(out[i])
        return tuple(out)


_PLANS: weakref.WeakKeyDictionary[Dialect, dict[tuple[sa.Table, tuple[str, ...]], _InsertPlan]]
_PLANS = weakref.WeakKeyDictionary()
"""Plans per engine dialect (dropped with the engine), then per table and column set."""


def _plan(table: sa.Table, keys: tuple[str, ...], dialect: Dialect) -> _InsertPlan:
    plans = _PLANS.setdefault(dialect, {})
    plan = plans.get((table, keys))
    if plan is None:
        compiled = sa.insert(table).compile(dialect=dialect, column_keys=list(keys))
        order = tuple(compiled.positiontup or ())
        if set(order) != set(keys):  # a column default Core would fill in: not handled here
            raise ValueError(f"insert_many: columns {sorted(set(order) - set(keys))} missing")
        processors = tuple(
            (i, process)
            for i, key in enumerate(order)
            if (process := table.c[key].type.dialect_impl(dialect).bind_processor(dialect))
        )
        getter = operator.itemgetter(*order)
        values = getter if len(order) > 1 else lambda row: (getter(row),)
        plan = plans[(table, keys)] = _InsertPlan(str(compiled), values, processors)
    return plan


def insert_many(conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, object]]) -> None:
    """``conn.execute(sa.insert(table), rows)`` with the same stored values, cheaper.

    Why: per row, Core's executemany builds a parameter dict, looks up each column's
    processor and converts the row in Python; with many JSON columns that bookkeeping costs
    about as much as SQLite's own insert, on the writer's thread. Here SQLAlchemy compiles
    the statement once per column set and each value still goes through the very bind
    processor Core would apply (the engine's JSON serialiser, the UTC datetime text, float
    coercion), so rows read back identically; only the bookkeeping goes. Errors are wrapped
    as Core wraps them (``StatementError`` for a value, ``IntegrityError`` and friends from
    the driver). Every row must have the first row's keys.
    """
    if not rows:
        return
    plan = _plan(table, tuple(rows[0]), conn.dialect)
    try:
        params = [plan.encode(row) for row in rows]
    except Exception as exc:  # a value the column's processor refuses, as Core reports it
        dbapi_error = conn.dialect.loaded_dbapi.Error
        raise DBAPIError.instance(plan.sql, None, exc, dbapi_error, dialect=conn.dialect) from exc
    conn.exec_driver_sql(plan.sql, params)
