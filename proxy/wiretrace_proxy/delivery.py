"""Built records into the database, or into the on-disk spool while the database refuses them.

The writer thread hands every batch of records here (``deliver``) and calls ``replay`` on
each cycle. The rules, in the order they apply:

- While the spool holds records, new ones are appended behind them, so the database gets
  records in the order they were built and a replayed record never lands after a newer one.
- A batch the database refuses as a whole (a storage fault: locked past the busy timeout,
  read-only, full, unreachable, its file removed) goes to the spool, and storage is marked
  down. No write is tried again before ``retry_at`` (a backoff from ``RETRY_MIN_S`` doubling
  to ``RETRY_MAX_S``): every try against a locked database costs a busy timeout, so trying on
  every batch would only pile up the backlog. (With no spool, every batch is tried: a batch
  not tried would be a batch lost.)
- ``replay`` moves spooled records to the database oldest first, one batch at a time, and
  acknowledges each batch once its transaction committed. Exactly once: a record whose id is
  already stored (the process died between the commit and the acknowledgement) is skipped.
- With no spool (an in-memory database) or a full one, the records the spool does not keep
  are counted lost, as before there was a spool.

Single-threaded by design: only the writer thread calls in; the counters are read by
``stats`` from other threads as plain ints (a slightly stale read is fine for ``/healthz``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.storage.engine import describe_error
from wiretrace_proxy.storage.models import CALLS
from wiretrace_proxy.storage.spool import Spool
from wiretrace_proxy.storage.writes import BatchResult, write_batch

__all__ = ["RETRY_MAX_S", "RETRY_MIN_S", "Delivery", "DeliveryStats"]

log = logging.getLogger(__name__)

RUNNING = "running"
RETRY_MIN_S = 0.25
RETRY_MAX_S = 5.0
"""Backoff between tries of a database that refused a batch."""


@dataclass(frozen=True, slots=True)
class DeliveryStats:
    """Counters of what reached the database, the spool, or neither."""

    written: int
    lost: int
    storage_errors: int
    batches: int
    storage_down: bool
    spool_pending: int
    spooled: int
    replayed: int
    spool_damaged: int
    last_error: str | None


class Delivery:
    """Records to the database or the spool; see the module docstring."""

    def __init__(
        self,
        engine: Engine,
        spool: Spool | None = None,
        *,
        batch_size: int = 500,
        before_write: Callable[[], object] | None = None,
        on_stored: Callable[[Sequence[CallRecord]], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._spool = spool
        self._batch_size = batch_size
        self._before_write = before_write
        """Run before each write (e.g. reopen a replaced SQLite file); raising = a fault."""
        self._on_stored = on_stored
        """Given each batch's final records once committed (the OTLP export queue); it must
        return at once, and what it raises is logged, never a storage fault."""
        self._clock = clock
        self._written = self._lost = self._storage_errors = self._batches = 0
        self._down = False
        self._retry_at = 0.0
        self._backoff = RETRY_MIN_S
        self._last_error: str | None = None
        self._logged: set[str] = set()
        self._running: set[str] = set()
        """Ids whose ``running`` record this writer stored: their final record replaces it."""

    @property
    def down(self) -> bool:
        """The latest write failed and no write has succeeded since."""
        return self._down

    @property
    def written(self) -> int:
        """Records stored so far (running ones included)."""
        return self._written

    def stats(self) -> DeliveryStats:
        spool = self._spool
        return DeliveryStats(
            written=self._written,
            lost=self._lost + (spool.lost if spool is not None else 0),
            storage_errors=self._storage_errors,
            batches=self._batches,
            storage_down=self._down,
            spool_pending=spool.pending if spool is not None else 0,
            spooled=spool.spooled if spool is not None else 0,
            replayed=spool.replayed if spool is not None else 0,
            spool_damaged=spool.damaged if spool is not None else 0,
            last_error=self._last_error,
        )

    def deliver(self, records: Sequence[CallRecord]) -> None:
        """Store ``records`` now, or spool them (see the module docstring for when)."""
        records = _final_wins(records)
        if not records:
            return
        spool = self._spool
        if spool is not None and (spool.pending or (self._down and not self._retry_due())):
            self._to_spool(records)
            return
        replacing = {r.id for r in records if r.status != RUNNING and r.id in self._running}
        result = self._write(records, replacing)  # with no spool, every batch is tried
        if result.failure is not None:
            self._to_spool(records)
            return
        self._running -= replacing
        refused = {call_id for call_id, _ in result.refused}
        self._running |= {r.id for r in records if r.status == RUNNING and r.id not in refused}

    def replay(self) -> None:
        """Move spooled records to the database while it takes them (oldest first)."""
        spool = self._spool
        if spool is None or not spool.pending or (self._down and not self._retry_due()):
            return
        while spool.pending:
            batch = spool.take(self._batch_size)
            if not batch.records:  # what was pending turned out unreadable (counted damaged)
                break
            unstored = self._not_stored(batch.records)
            if unstored is None:
                return  # the database is failing again
            fresh, replacing = unstored
            result = self._write(fresh, replacing) if fresh else BatchResult()
            if result.failure is not None:
                return
            spool.ack(batch)
        if not spool.pending:
            log.warning("storage: spool replayed, every spooled record is in the database")

    def finish(self) -> None:
        """On stop: make what the spool holds durable (fsync; the spool never raises)."""
        if self._spool is not None and not self._spool.sync():
            log.error("storage: cannot sync the spool: %s", self._spool.last_error)

    def _write(self, records: Sequence[CallRecord], replacing: set[str]) -> BatchResult:
        try:
            if self._before_write is not None:
                self._before_write()
            result = write_batch(self._engine, records, replacing)
        except Exception as exc:  # fail-open boundary: anything unforeseen is a storage fault
            result = BatchResult(split=True, failure=exc)
        if result.split:
            self._storage_errors += 1
        elif result.failure is None:
            self._batches += 1
        if result.failure is not None:
            self._storage_failed(len(records), result.failure)
            return result
        # Counters are of calls: a running record is provisional, its final one is counted.
        refused = {call_id for call_id, _ in result.refused}
        running = sum(1 for r in records if r.status == RUNNING and r.id not in refused)
        finals = sum(1 for r in records if r.status != RUNNING)
        self._written += result.written - running
        self._lost += finals - (result.written - running)  # refused by the database
        self._storage_up()
        if self._on_stored is not None:
            self._hand_over([r for r in records if r.status != RUNNING and r.id not in refused])
        for call_id, error in result.refused:
            self._last_error = f"storage: record {call_id} refused: {describe_error(error)}"
            if self._first_time(f"refused:{type(error).__name__}"):
                log.error("%s (logged once, then counted)", self._last_error)
        return result

    def _hand_over(self, stored: list[CallRecord]) -> None:
        assert self._on_stored is not None
        try:
            self._on_stored(stored)
        except Exception:  # fail-open boundary: a consumer's bug is not a storage fault
            if self._first_time("on_stored"):
                log.exception("storage: the stored-records callback failed (logged once)")

    def _not_stored(
        self, records: Sequence[CallRecord]
    ) -> tuple[list[CallRecord], set[str]] | None:
        """``records`` without those already in the database, and the ids among them whose
        stored row is a ``running`` one to replace; None if the database cannot be read."""
        try:
            with self._engine.connect() as conn:
                ids = [r.id for r in records]
                query = sa.select(CALLS.c.id, CALLS.c.status).where(CALLS.c.id.in_(ids))
                stored: dict[str, str] = {row[0]: row[1] for row in conn.execute(query)}
        except Exception as exc:  # fail-open boundary: a failing database is storage down
            self._storage_failed(len(records), exc)
            return None
        fresh = [
            r
            for r in _final_wins(records)
            if r.id not in stored or (stored[r.id] == RUNNING and r.status != RUNNING)
        ]
        return fresh, {r.id for r in fresh if r.id in stored}

    def _to_spool(self, records: Sequence[CallRecord]) -> None:
        self._running -= {r.id for r in records}  # replay finds running rows by reading them
        spool = self._spool
        if spool is None:
            self._count_lost(records, "no spool")
            return
        kept = spool.append(records)
        if kept < len(records) and self._first_time("spool-full"):
            why = spool.last_error or "the spool is full"
            log.error(
                "storage: spool refused %d records (%s); counted lost", len(records) - kept, why
            )

    def _count_lost(self, records: Sequence[CallRecord], why: str) -> None:
        self._lost += len(records)
        log.debug("storage: %d records lost (%s)", len(records), why)

    def _retry_due(self) -> bool:
        return self._clock() >= self._retry_at

    def _storage_failed(self, count: int, exc: Exception) -> None:
        why = describe_error(exc)  # one line: SQLAlchemy's str() carries SQL and parameters
        self._last_error = f"storage: {why}"
        self._retry_at = self._clock() + self._backoff
        self._backoff = min(RETRY_MAX_S, self._backoff * 2)
        if not self._down:
            self._down = True
            where = "spooling them" if self._spool is not None else "recording is failing"
            log.error("storage: cannot write %d records, %s: %s", count, where, why)
        else:
            log.debug("storage: still failing (%s)", why)

    def _storage_up(self) -> None:
        self._backoff = RETRY_MIN_S
        if self._down:
            self._down = False
            log.warning("storage: writing again (%d records lost so far)", self.stats().lost)

    def _first_time(self, key: str) -> bool:
        first = key not in self._logged
        self._logged.add(key)
        return first


def _final_wins(records: Sequence[CallRecord]) -> Sequence[CallRecord]:
    """``records`` without the ``running`` ones whose final record is also there."""
    finals = {r.id for r in records if r.status != RUNNING}
    if len(finals) == len(records):
        return records
    return [r for r in records if r.status != RUNNING or r.id not in finals]
