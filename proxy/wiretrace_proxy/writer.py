"""The background writer: records leave the request path here and reach the database.

The event loop only ever calls ``submit``, which appends to a ``deque`` (atomic under the
GIL) and returns: no lock, no ``Event.set``, no await, so it cannot block or be cancelled
halfway. One daemon thread with a sync engine does everything slow: it wakes every
``flush_interval`` (or at once for ``flush``/``stop``), drains everything pending in batches
of ``batch_size``, builds records from captures (the recorder runs here, off the loop), and
inserts each batch in one transaction.

The writer shares the GIL with the event loop: a thread that holds it keeps the loop
waiting up to the interpreter's switch interval (5 ms) before it must let go, which is what
a streamed chunk's tail latency would pay. So after each record it builds, the writer
yields the GIL (``time.sleep(0)``) and the loop never waits long for it.

Fail open, lose nothing, count everything: a full queue drops the new item (counted); a
recorder failure stores the recorder's fallback record (the capture's ids, times and the
error); a batch the
database refuses is retried record by record so one bad record loses only itself; a database
that is down (unreachable, read-only, full, locked) loses the batch, is logged once with the
"storage:" prefix, and the writer recovers when it is back. ``stop`` drains everything first.
Every submitted item is counted once as ``written``, ``dropped`` or ``lost``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.engine import Engine

from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.forward.capture import Capture
from wiretrace_proxy.storage.engine import describe_error
from wiretrace_proxy.storage.writes import BatchResult, write_batch

__all__ = ["RecordBuilder", "Writer", "WriterStats"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WriterStats:
    """A snapshot of the writer's counters (``/healthz`` and metrics show these)."""

    pending: int
    """Items submitted and not yet handled."""
    written: int
    """Records stored."""
    dropped: int
    """Items refused by ``submit`` because the queue was full (or the writer stopped)."""
    lost: int
    """Items accepted but never stored (storage down, record refused, record unbuildable)."""
    storage_errors: int
    """Batches the database did not accept as a whole."""
    record_errors: int
    """Captures the recorder failed on (most still stored as a minimal error record)."""
    batches: int
    """Batches stored in one transaction."""
    last_error: str | None
    """The latest storage or recorder error, one line."""


class RecordBuilder(Protocol):
    """Capture -> CallRecord (``record.recorder.Recorder``): ``build`` normally, ``fallback``
    when ``build`` raised, so the call is still stored with its ids, times and the error."""

    def build(self, capture: Capture) -> CallRecord: ...

    def fallback(self, capture: Capture, error: Exception) -> CallRecord: ...


class Writer:
    """Batches records into the database on one dedicated thread; see the module docstring."""

    def __init__(
        self,
        engine: Engine,
        recorder: RecordBuilder,
        *,
        max_pending: int = 100_000,
        batch_size: int = 500,
        flush_interval: float = 0.05,
    ) -> None:
        if max_pending < 1 or batch_size < 1 or flush_interval <= 0:
            raise ValueError("max_pending, batch_size and flush_interval must be positive")
        self._engine = engine
        self._recorder = recorder
        self._max_pending = max_pending
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        # Items, and flush() markers: an Event set once everything queued before it is handled.
        self._pending: deque[Capture | threading.Event] = deque()
        # submit() counts a drop by appending here (atomic, unlike ``n += 1`` across threads);
        # the writer thread folds these marks into ``_dropped``.
        self._drop_marks: deque[None] = deque()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._written = self._dropped = self._lost = 0
        self._storage_errors = self._record_errors = self._batches = 0
        self._last_error: str | None = None
        self._storage_down = False
        self._logged: set[str] = set()

    def submit(self, capture: Capture) -> None:
        """Queue a finished capture; never blocks, never raises, O(1)."""
        if self._closed or len(self._pending) >= self._max_pending:
            self._drop_marks.append(None)
            return
        self._pending.append(capture)

    def stats(self) -> WriterStats:
        """The counters now (exact once the writer is idle)."""
        return WriterStats(
            pending=len(self._pending),
            written=self._written,
            dropped=self._dropped + len(self._drop_marks),
            lost=self._lost,
            storage_errors=self._storage_errors,
            record_errors=self._record_errors,
            batches=self._batches,
            last_error=self._last_error,
        )

    def start(self) -> None:
        """Start the writer thread (once)."""
        if self._thread is not None or self._closed:
            raise RuntimeError("a Writer can be started once, and not after stop()")
        self._thread = threading.Thread(target=self._run, name="wiretrace-writer", daemon=True)
        self._thread.start()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until all submitted before this call is written or counted lost (read your
        writes); False if ``timeout`` passed first, or the writer is not running."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return not self._pending
        marker = threading.Event()
        self._pending.append(marker)
        self._wake.set()
        return marker.wait(timeout)

    def stop(self, timeout: float | None = None) -> bool:
        """Refuse new items, write everything pending, stop the thread; False if ``timeout``
        passed first (draining goes on in the background). Never started: drains here."""
        self._closed = True
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.error("writer: stop deadline passed, %d records pending", len(self._pending))
                return False
        self._cycle()  # never started: drain here; else what a racing submit() slipped in
        return True

    def _run(self) -> None:
        while True:
            stopping = self._stopping.is_set()
            if not stopping:
                self._wake.wait(self._flush_interval)
                self._wake.clear()
                stopping = self._stopping.is_set()
            self._cycle()
            if stopping and not self._pending:
                return

    def _cycle(self) -> None:
        """Handle everything pending now, one batch at a time."""
        self._fold_drops()
        while self._pending:
            items, markers = self._take()
            try:
                if items:
                    self._store(self._build(items))
            except Exception:  # fail-open boundary: a writer bug must not stop the thread
                self._lost += len(items)
                log.exception("writer: unexpected error, %d records lost", len(items))
            finally:
                for marker in markers:
                    marker.set()
        self._fold_drops()

    def _take(self) -> tuple[list[Capture], list[threading.Event]]:
        items: list[Capture] = []
        markers: list[threading.Event] = []
        while self._pending and len(items) < self._batch_size:
            item = self._pending.popleft()
            if isinstance(item, threading.Event):
                markers.append(item)
            else:
                items.append(item)
        return items, markers

    def _fold_drops(self) -> None:
        count = len(self._drop_marks)
        for _ in range(count):
            self._drop_marks.popleft()
        if count:
            self._dropped += count
            if self._first_time("drop"):
                log.warning("writer: queue full or stopped, dropping records (counted from now)")

    def _build(self, items: list[Capture]) -> list[CallRecord]:
        records: list[CallRecord] = []
        for item in items:
            try:
                records.append(self._recorder.build(item))
                time.sleep(0)  # hand the GIL to the event loop if it is waiting (see module doc)
            except Exception as exc:  # fail-open boundary: a recorder bug loses no call
                self._record_errors += 1
                self._last_error = f"recorder: {type(exc).__name__}: {describe_error(exc)}"
                if self._first_time(f"recorder:{type(exc).__name__}"):
                    log.exception("recorder: cannot build record for call %s", item.call_id)
                try:
                    records.append(self._recorder.fallback(item, exc))
                except Exception:  # fail-open boundary: not even ids and times, count it
                    self._lost += 1
        return records

    def _store(self, records: list[CallRecord]) -> None:
        if not records:
            return
        try:
            result = write_batch(self._engine, records)
        except Exception as exc:  # fail-open boundary: anything unforeseen loses the batch
            result = BatchResult(split=True, failure=exc)
        if result.split:
            self._storage_errors += 1
        elif result.failure is None:
            self._batches += 1
        self._written += result.written
        self._lost += len(records) - result.written
        if result.failure is not None:
            self._storage_failed(len(records), result.failure)
            return
        self._storage_up()
        for call_id, error in result.refused:
            self._last_error = f"storage: record {call_id} refused: {describe_error(error)}"
            if self._first_time(f"refused:{type(error).__name__}"):
                log.error("%s (logged once, then counted)", self._last_error)

    def _storage_failed(self, count: int, exc: Exception) -> None:
        why = describe_error(exc)  # one line: SQLAlchemy's str() carries SQL and parameters
        self._last_error = f"storage: {why}"
        if not self._storage_down:
            self._storage_down = True
            log.error("storage: cannot write %d records, recording is failing: %s", count, why)
        else:
            log.debug("storage: still failing, %d more records lost", count)

    def _storage_up(self) -> None:
        if self._storage_down:
            self._storage_down = False
            log.warning("storage: writing again (%d records lost so far)", self._lost)

    def _first_time(self, key: str) -> bool:
        """True the first time ``key`` is seen: a repeated failure is logged once, then counted."""
        first = key not in self._logged
        self._logged.add(key)
        return first
