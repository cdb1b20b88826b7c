"""The background writer: records leave the request path here and reach the database.

The event loop only ever calls ``submit``, which appends to a ``deque`` (atomic under the
GIL) and returns: no lock, no ``Event.set``, no await, so it cannot block or be cancelled
halfway. One daemon thread with a sync engine does everything slow: it wakes every
``flush_interval`` (or at once for ``flush``/``stop``), drains everything pending in batches
of ``batch_size``, builds records from captures (the recorder runs here, off the loop), and
hands each batch to ``delivery.Delivery``: one transaction in the database, or the on-disk
spool while the database refuses writes (replayed in order once it takes them again).
Between cycles it also keeps SQLite's text search index up (``storage.text_index``).

The writer shares the GIL with the event loop: a thread that holds it keeps the loop
waiting up to the interpreter's switch interval (5 ms) before it must let go, which is what
a streamed chunk's tail latency would pay. So after each record it builds, the writer
yields the GIL (``time.sleep(0)``) and the loop never waits long for it.

Fail open, lose nothing, count everything: a full queue drops the new item (counted); a
recorder failure stores the recorder's fallback record (the capture's ids, times and the
error); a batch the database refuses is retried record by record so one bad record loses
only itself; a database that is down (unreachable, read-only, full, locked) sends records to
the spool, logged once with the "storage:" prefix. ``stop`` drains everything first. Every
submitted item is counted once as ``written``, ``dropped``, ``lost`` or still spooled.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.engine import Engine

from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.delivery import Delivery
from wiretrace_proxy.forward.capture import Capture
from wiretrace_proxy.storage.engine import describe_error
from wiretrace_proxy.storage.spool import Spool
from wiretrace_proxy.storage.text_index import TextIndexer

__all__ = ["RecordBuilder", "Writer", "WriterStats"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WriterStats:
    """A snapshot of the writer's counters (``/healthz`` and metrics show these)."""

    pending: int
    """Items submitted and not yet handled (queued, or in the batch being handled)."""
    written: int
    """Records stored."""
    dropped: int
    """Items refused by ``submit`` because the queue was full (or the writer stopped)."""
    lost: int
    """Items accepted but never stored nor spooled (storage down with no room in the spool,
    record refused by the database, record unbuildable)."""
    storage_errors: int
    """Batches the database did not accept as a whole."""
    record_errors: int
    """Captures the recorder failed on (most still stored as a minimal error record)."""
    batches: int
    """Batches stored in one transaction."""
    last_error: str | None
    """The latest storage or recorder error, one line."""
    storage_down: bool = False
    """The latest write to the database failed (records go to the spool until one succeeds)."""
    oldest_pending_s: float = 0.0
    """Seconds the oldest item not yet handled has been waiting (0 when none is)."""
    spool_pending: int = 0
    """Records in the on-disk spool, waiting for the database."""
    spooled: int = 0
    """Records ever put in the spool (this run and, for a reopened spool, before)."""
    replayed: int = 0
    """Spooled records since written to the database."""
    spool_damaged: int = 0
    """Spooled entries found unreadable (a torn or damaged segment), skipped."""


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
        spool: Spool | None = None,
        before_write: Callable[[], object] | None = None,
        on_stored: Callable[[Sequence[CallRecord]], object] | None = None,
        text_indexer: TextIndexer | None = None,
    ) -> None:
        if max_pending < 1 or batch_size < 1 or flush_interval <= 0:
            raise ValueError("max_pending, batch_size and flush_interval must be positive")
        self._delivery = Delivery(
            engine, spool, batch_size=batch_size, before_write=before_write, on_stored=on_stored
        )
        self._text_index = text_indexer or TextIndexer(engine)
        self._recorder = recorder
        self._max_pending = max_pending
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        # Items (captures, or records built elsewhere such as ingested OTLP spans), and
        # flush() markers: an Event set once everything queued before it is handled.
        self._pending: deque[Capture | CallRecord | threading.Event] = deque()
        # submit() counts a drop by appending here (atomic, unlike ``n += 1`` across threads);
        # the writer thread folds these marks into ``_dropped``.
        self._drop_marks: deque[None] = deque()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._dropped = self._lost = self._record_errors = 0
        self._in_hand = 0
        """Items taken from the queue and not yet delivered (still counted as pending)."""
        self._last_error: str | None = None
        self._logged: set[str] = set()

    def submit(self, capture: Capture) -> None:
        """Queue a finished capture; never blocks, never raises, O(1)."""
        if self._closed or len(self._pending) >= self._max_pending:
            self._drop_marks.append(None)
            return
        self._pending.append(capture)

    @property
    def closed(self) -> bool:
        """``stop`` was called: nothing more is accepted."""
        return self._closed

    def submit_records(self, records: Sequence[CallRecord], share: float = 0.5) -> bool:
        """Queue records built off the writer (ingested spans), all or none: False, with
        nothing queued, if they would fill more than ``share`` of the queue, which keeps
        the rest for proxied calls (the caller answers "retry later"). Never blocks."""
        if self._closed or len(self._pending) + len(records) > self._max_pending * share:
            return False
        self._pending.extend(records)
        self._wake.set()
        return True

    def stats(self) -> WriterStats:
        """The counters now (exact once the writer is idle)."""
        delivered = self._delivery.stats()
        errors = [e for e in (self._last_error, delivered.last_error) if e is not None]
        return WriterStats(
            pending=len(self._pending) + self._in_hand,
            written=delivered.written,
            dropped=self._dropped + len(self._drop_marks),
            lost=self._lost + delivered.lost,
            storage_errors=delivered.storage_errors,
            record_errors=self._record_errors,
            batches=delivered.batches,
            last_error=errors[-1] if errors else None,
            storage_down=delivered.storage_down,
            oldest_pending_s=self._oldest_pending_s(),
            spool_pending=delivered.spool_pending,
            spooled=delivered.spooled,
            replayed=delivered.replayed,
            spool_damaged=delivered.spool_damaged,
        )

    def _oldest_pending_s(self) -> float:
        for item in itertools.islice(self._pending, 0, 8):  # markers may sit in front
            if isinstance(item, Capture) and item.t_end is not None:
                return max(0.0, time.perf_counter() - item.t_end)
        return 0.0

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
        if thread is None:
            self._delivery.finish()
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
                self._delivery.finish()
                return
            if not stopping:
                self._text_index.after_writes(self._delivery.written)

    def _cycle(self) -> None:
        """Handle everything pending now, one batch at a time, then what the spool holds
        (a ``flush`` marker is set once both are done, so it reads its writes)."""
        self._fold_drops()
        while self._pending:
            items, markers = self._take()
            self._in_hand = len(items)
            try:
                if items:
                    self._delivery.deliver(self._build(items))
            except Exception:  # fail-open boundary: a writer bug must not stop the thread
                self._lost += len(items)
                log.exception("writer: unexpected error, %d records lost", len(items))
            finally:
                self._in_hand = 0
                if markers:
                    self._replay()
                for marker in markers:
                    marker.set()
        self._replay()
        self._fold_drops()

    def _replay(self) -> None:
        try:
            self._delivery.replay()
        except Exception:  # fail-open boundary: a replay bug must not stop the thread
            log.exception("writer: unexpected error while replaying the spool")

    def _take(self) -> tuple[list[Capture | CallRecord], list[threading.Event]]:
        items: list[Capture | CallRecord] = []
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

    def _build(self, items: list[Capture | CallRecord]) -> list[CallRecord]:
        records: list[CallRecord] = []
        for item in items:
            if isinstance(item, CallRecord):
                records.append(item)
                continue
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

    def _first_time(self, key: str) -> bool:
        """True the first time ``key`` is seen: a repeated failure is logged once, then counted."""
        first = key not in self._logged
        self._logged.add(key)
        return first
