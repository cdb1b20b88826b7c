"""``--retention-days``: a background thread that deletes old calls at start and hourly.

Why a thread of its own: a purge is many small transactions (``storage.purge``), with a
pause after each so the writer, which waits for the same database lock on SQLite, gets in
between; none of that may run on the event loop or hold up the writer's thread. The
request path never waits on it (it never waits on the database at all).

Each run deletes the calls that started more than ``days`` days before the run began,
logs what it removed (rows per table) and keeps that as ``last_run`` for ``/healthz``. A
run that fails (the database down) is logged and tried again at the next interval. Every
replica with the setting runs it; on PostgreSQL their batches take turns (see
``storage.purge``), so running it on one replica only is enough but not required.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from wiretrace_proxy.callrecord import JSONObject
from wiretrace_proxy.storage.engine import describe_error
from wiretrace_proxy.storage.purge import BATCH_SIZE, PurgeCounts, purge

__all__ = ["INTERVAL_S", "PAUSE_S", "Retention", "RetentionRun"]

log = logging.getLogger(__name__)

INTERVAL_S = 3600.0
"""Seconds between the starts of two runs."""
PAUSE_S = 0.05
"""Seconds between two batches of a run at least: the writer's turn at the database. A
batch that took longer is followed by a pause as long as it (see ``Retention._between``)."""


@dataclass(frozen=True, slots=True)
class RetentionRun:
    """One run's outcome, as ``/healthz`` shows it."""

    started_at: datetime
    before: datetime
    """Calls that started before this were deleted."""
    seconds: float
    removed: PurgeCounts
    error: str | None = None
    """Why the run stopped early (it is tried again at the next interval)."""

    def to_api(self) -> JSONObject:
        removed: JSONObject = {**self.removed.as_dict()}
        return {
            "started_at": self.started_at.isoformat(),
            "before": self.before.isoformat(),
            "seconds": round(self.seconds, 3),
            "removed": removed,
            "error": self.error,
        }


class Retention:
    """Runs ``storage.purge.purge`` for calls older than ``days`` days, now and every
    ``interval`` seconds, until ``stop``."""

    def __init__(
        self,
        engine: Engine,
        days: int,
        *,
        interval: float = INTERVAL_S,
        pause: float = PAUSE_S,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.engine = engine
        self.days = days
        self.interval = interval
        self.pause = pause
        self.batch_size = batch_size
        self.last_run: RetentionRun | None = None
        self._batch_began = 0.0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="wiretrace-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float) -> bool:
        """Stop after the batch in hand; whether the thread ended within ``timeout``."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            began = time.monotonic()
            self.run_once()
            self._stopping.wait(max(0.0, self.interval - (time.monotonic() - began)))

    def run_once(self) -> RetentionRun:
        """One run, now, on the calling thread; also kept as ``last_run`` and logged."""
        started = datetime.now(UTC)
        before = started - timedelta(days=self.days)
        began = self._batch_began = time.monotonic()
        removed = PurgeCounts()
        error: str | None = None
        try:
            purge(
                self.engine,
                before,
                batch_size=self.batch_size,
                between=self._between,
                counts=removed,
            )
        except (SQLAlchemyError, OSError) as exc:
            error = describe_error(exc)
        run = RetentionRun(started, before, time.monotonic() - began, removed, error)
        self.last_run = run
        _log(run)
        return run

    def _between(self) -> bool:
        """After each batch: pause as long as the batch took (at least ``pause``), and go on
        unless stopping.

        Why as long: on SQLite a batch holds the write lock the writer needs, so the purge
        takes at most half of the database's time, whatever the machine's speed (measured
        on a loaded machine: 1,000 calls a second, the writer's backlog under 2 s)."""
        took = time.monotonic() - self._batch_began
        go_on = not self._stopping.wait(max(self.pause, took))
        self._batch_began = time.monotonic()
        return go_on


def _log(run: RetentionRun) -> None:
    removed = ", ".join(f"{n} {table}" for table, n in run.removed.as_dict().items())
    if run.error is not None:
        log.warning(
            "retention: stopped after removing %s older than %s: %s (retried in an hour)",
            removed,
            run.before.isoformat(timespec="seconds"),
            run.error,
        )
    elif run.removed.calls:
        log.info(
            "retention: removed %s older than %s in %.1f s",
            removed,
            run.before.isoformat(timespec="seconds"),
            run.seconds,
        )
    else:
        log.debug("retention: nothing older than %s", run.before.isoformat(timespec="seconds"))
