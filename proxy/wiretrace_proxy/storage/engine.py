"""Database engines: one place that knows how to open SQLite and PostgreSQL well.

SQLite is the zero-setup default, so its file's folder is created and each connection gets
the pragmas a concurrent writer-plus-readers workload needs: WAL (readers never block the
writer), ``synchronous=NORMAL`` (durable at checkpoints, far fewer fsyncs), a busy timeout,
and foreign keys. pysqlite's own transaction handling is switched off in favour of an
explicit ``BEGIN`` so that transactions and SAVEPOINTs behave as SQLAlchemy documents
(pysqlite otherwise defers ``BEGIN`` and lets a released savepoint commit). An in-memory
database (``sqlite://``, ``:memory:``) is one connection every thread shares, in turn.

PostgreSQL URLs are routed to the psycopg 3 driver, an optional extra
(``pip install 'wiretrace[postgres]'``). ``check_database`` turns "cannot connect" into
one ``StorageUnavailable`` line the CLI can print before exiting.

``insert_many`` is the writer's SQLite fast path: the same rows Core would store, for a
fraction of the CPU per row (see its docstring).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import operator
import re
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Connection, Dialect, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from wiretrace_proxy import jsonsafe
from wiretrace_proxy.errors import ConfigError, StorageUnavailable

__all__ = [
    "ACCEPTED_URLS",
    "DEFAULT_BUSY_TIMEOUT_MS",
    "check_database",
    "create_engine_for",
    "describe_error",
    "insert_many",
    "is_memory",
    "parse_database_url",
    "safe_url",
]

log = logging.getLogger(__name__)

DEFAULT_BUSY_TIMEOUT_MS = 5000
"""How long a SQLite connection waits for a lock before failing with "database is locked"."""

_POSTGRES_NAMES = {"postgresql", "postgres", "postgresql+psycopg"}


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
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")


def safe_url(engine: Engine) -> str:
    """The engine's URL with any password masked, for messages and logs."""
    return engine.url.render_as_string(hide_password=True)


def check_database(engine: Engine) -> None:
    """Open a connection and run a trivial query; raise ``StorageUnavailable`` if it fails.

    The message is one line, e.g. ``cannot open database sqlite:////nope/x.db: unable to
    open database file``.
    """
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1")).scalar_one()
    except (SQLAlchemyError, OSError) as exc:
        raise StorageUnavailable(
            f"cannot open database {safe_url(engine)}: {describe_error(exc)}"
        ) from exc


def describe_error(exc: BaseException) -> str:
    """The first line of the driver's own message, without SQLAlchemy's SQL and links."""
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(inner).strip().splitlines()
    return lines[0] if lines else type(inner).__name__


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
