"""What the replicas of one database share besides the calls: settings made once, and the
sign-in sessions ended early (migration 0017's tables).

Each replica may be the first to need a value, so a value is inserted only if absent and
then read back: when two replicas race, both end up with the one stored first.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from wiretrace_proxy.storage.engine import write_transaction
from wiretrace_proxy.storage.models import REVOKED_SESSIONS, SERVER_SETTINGS

__all__ = ["forget_expired", "read_revoked", "revoke", "shared_setting"]


def _insert_ignore(conn: Connection, table: sa.Table, row: dict[str, object]) -> None:
    insert: Any = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)
    conn.execute(insert.on_conflict_do_nothing(), row)


def shared_setting(engine: Engine, name: str, make: Callable[[], str]) -> str:
    """The value stored under ``name``; if there is none yet, ``make()``'s is stored first
    (``make`` may not be called, and its value may lose to another replica's)."""
    select = sa.select(SERVER_SETTINGS.c.value).where(SERVER_SETTINGS.c.name == name)
    with engine.connect() as conn:
        found = conn.execute(select).scalar_one_or_none()
    if found is not None:
        return str(found)
    with write_transaction(engine) as conn:
        _insert_ignore(conn, SERVER_SETTINGS, {"name": name, "value": make()})
        return str(conn.execute(select).scalar_one())


def revoke(engine: Engine, session_id: str, expires_at: datetime) -> None:
    """Mark a session ended until ``expires_at`` (when its cookie would be refused anyway)."""
    with write_transaction(engine) as conn:
        _insert_ignore(conn, REVOKED_SESSIONS, {"session_id": session_id, "expires_at": expires_at})


def read_revoked(engine: Engine, now: datetime) -> dict[str, datetime]:
    """The sessions ended early that have not expired yet, with their expiry."""
    table = REVOKED_SESSIONS
    query = sa.select(table.c.session_id, table.c.expires_at).where(table.c.expires_at > now)
    with engine.connect() as conn:
        return {row.session_id: row.expires_at for row in conn.execute(query)}


def forget_expired(engine: Engine, now: datetime) -> int:
    """Delete the revocations of sessions past their expiry; how many."""
    with write_transaction(engine) as conn:
        deleted = conn.execute(
            sa.delete(REVOKED_SESSIONS).where(REVOKED_SESSIONS.c.expires_at <= now)
        )
        return int(deleted.rowcount)
