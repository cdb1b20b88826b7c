"""Sessions ended by ``/signout``: refused by every replica until their cookie expires.

A session value is signed, not stored, so deleting the browser's cookie alone would leave a
copy of it (from a shared machine, a proxy log) valid for the rest of its week. Signing out
therefore stores the session's id in the database (``storage/shared_state``), and each
replica keeps the ids in memory, read again at most every ``REFRESH_S`` and only when a
request with a session cookie needs them: a session ended through one replica is refused by
the others within about a second. The read runs in a thread and the proxy's own requests
never wait for it.

When the database cannot be read the known ids stay in force and the read is tried again
later; when the id cannot be stored the session still ends here and its cookie is deleted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from wiretrace_proxy.access.sessions import Session
from wiretrace_proxy.storage.engine import describe_error
from wiretrace_proxy.storage.shared_state import forget_expired, read_revoked, revoke

__all__ = ["REFRESH_S", "Revocations"]

log = logging.getLogger("wiretrace.access")

REFRESH_S = 1.0
"""How stale the ended sessions may be when a signed-in request is checked."""


class Revocations:
    """The ended sessions this replica knows of, kept fresh from the database."""

    def __init__(self, engine: Callable[[], Engine | None]) -> None:
        self._engine = engine
        self._ended: dict[str, datetime] = {}
        self._read_at = -REFRESH_S
        self._lock = asyncio.Lock()
        self._failing = False

    def ended(self, session: Session) -> bool:
        """Whether ``session`` was signed out (as of the last read)."""
        return session.id in self._ended

    def due(self) -> bool:
        """Whether the ended sessions should be read again before a session is checked."""
        return time.monotonic() - self._read_at >= REFRESH_S

    async def refresh(self) -> None:
        """Read the ended sessions again; callers arriving meanwhile wait for that read."""
        async with self._lock:
            if self.due():  # else another request just read them
                await self._read()

    async def _read(self) -> None:
        engine = self._engine()
        if engine is None:  # before storage opened: nothing to read yet
            return
        try:
            ended = await asyncio.to_thread(read_revoked, engine, datetime.now(UTC))
        except Exception as exc:  # fail-open boundary: keep what is known, retry later
            if not self._failing:
                log.warning("access: cannot read ended sessions (%s)", describe_error(exc))
            self._failing = True
        else:
            self._failing = False
            self._ended = {**self._ended, **ended}
            now = datetime.now(UTC)
            self._ended = {sid: end for sid, end in self._ended.items() if end > now}
        self._read_at = time.monotonic()

    async def end(self, session: Session) -> None:
        """Sign ``session`` out on every replica (here at once, elsewhere at their next read)."""
        self._ended[session.id] = session.expires_at
        engine = self._engine()
        if engine is None:
            return
        try:
            await asyncio.to_thread(_store, engine, session)
        except Exception as exc:  # fail-open boundary: ended here; the cookie is deleted
            log.warning(
                "access: could not store a sign-out (%s): other replicas accept that session "
                "until it expires",
                describe_error(exc),
            )


def _store(engine: Engine, session: Session) -> None:
    revoke(engine, session.id, session.expires_at)
    forget_expired(engine, datetime.now(UTC))
