"""The export queue and its thread: stored records leave for an OTLP backend from here.

``offer`` is called where records are stored (the writer thread, the span API's worker
thread): it appends to a bounded ``deque`` and returns, so it never waits on the network,
a lock held for long, or the event loop. A full queue drops the new record and counts it
(``MAX_QUEUE``, as OpenTelemetry's batch processor does). One daemon thread wakes every
``schedule_delay`` seconds, or at once when a batch is full, encodes what is queued
(``encode``) and sends it in batches of ``batch_size`` spans (``sender``), a request
holding at most ``MAX_REQUEST_BYTES`` of spans. A batch that fails for good is dropped and
counted; the first failure of a kind is logged, the rest counted.

Not exported: a ``running`` record (its final one is), a record ingested over OTLP
(``attributes["wiretrace.source"] == "otlp"``: it came from the app's own instrumentation,
which exports it itself), and a record whose ids are not W3C hex. An ingested LLM span
folded into its proxied call (``storage/llm_merge.py``) is not exported either; the call
is, once, as it is after the fold: in the app's trace, under the app's span.

A fold can come after the call is stored (the app's span arrives seconds later: a batch
span processor waits 5 s by default), and a span once exported cannot be moved to another
trace. So, given ``current`` (the stored version of records, by id), the exporter holds
each proxied LLM call back for ``MERGE_WINDOW_S`` (only its id: memory stays flat, up to
``MAX_HELD`` ids, beyond which calls are exported as offered), then exports its stored
version, folded or not. A span that arrives after the window is still folded in the
database, but the call has gone out in wiretrace's own trace. A flush or a stop exports
what is held at once.

``stop(timeout)`` exports what is queued until the timeout, then counts the rest dropped
and says how many.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.otlp_export.encode import (
    EncodeOptions,
    encode_request,
    encode_span,
    exportable,
)
from wiretrace_proxy.otlp_export.sender import Outcome, Sender

__all__ = ["ExportStats", "OtlpExporter", "StoredLookup", "is_ingested"]

log = logging.getLogger(__name__)

MAX_QUEUE = 2048
BATCH_SIZE = 512
SCHEDULE_DELAY_S = 1.0
EXPORT_TIMEOUT_S = 30.0
"""A batch's tries, retries included, end this long after its first."""
MAX_REQUEST_BYTES = 4 * 1024 * 1024
MERGE_WINDOW_S = 10.0
"""How long a proxied LLM call is held back for its app's span to arrive and be folded
in, unless ``--otlp-export-hold`` says otherwise: twice a batch span processor's default
delay."""
MAX_HELD = 65_536
SOURCE_KEY = "wiretrace.source"
OTLP_SOURCE = "otlp"


StoredLookup = Callable[[Sequence[str]], Mapping[str, CallRecord]]
"""The stored records with these ids (those still stored), read on the export thread."""


@dataclass(frozen=True, slots=True)
class ExportStats:
    """The exporter's counters (``/healthz`` shows them as ``otlp_export``)."""

    url: str
    """Where spans are sent."""
    queued: int
    """Spans waiting to be sent (or being sent), those held back for a fold included."""
    sent: int
    """Spans the backend accepted."""
    dropped: int
    """Spans not exported: the queue was full, the backend refused them (400, a partial
    success's rejected spans), every retry failed, or a stop's deadline came first."""
    retries: int
    """Requests sent again after a 429, 502, 503, 504 or a connection failure."""
    last_error: str | None
    """The latest failed export, one line."""


def is_ingested(record: CallRecord) -> bool:
    """A record that arrived over OTLP: its own instrumentation exports it."""
    return record.attributes.get(SOURCE_KEY) == OTLP_SOURCE


class OtlpExporter:
    """Bounded queue plus one sender thread; see the module docstring."""

    def __init__(
        self,
        sender: Sender,
        url: str,
        options: EncodeOptions,
        *,
        interrupt: threading.Event,
        max_queue: int = MAX_QUEUE,
        batch_size: int = BATCH_SIZE,
        schedule_delay: float = SCHEDULE_DELAY_S,
        export_timeout: float = EXPORT_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
        current: StoredLookup | None = None,
        merge_window: float | None = None,
    ) -> None:
        self._sender = sender
        self._url = url
        self._options = options
        self._interrupt = interrupt
        """The sender's: set on stop so a wait between tries sees the stop's deadline."""
        self._max_queue = max_queue
        self._batch_size = batch_size
        self._schedule_delay = schedule_delay
        self._export_timeout = export_timeout
        self._clock = clock
        self._current = current
        self._merge_window = MERGE_WINDOW_S if merge_window is None else merge_window
        self._held: deque[tuple[float, str]] = deque()  # (when due, call id), in due order
        self._flushes: deque[threading.Event] = deque()
        self._queue: deque[CallRecord | threading.Event] = deque()
        self._drop_marks: deque[None] = deque()  # appended from any thread: atomic
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._stop_deadline = float("inf")
        self._thread: threading.Thread | None = None
        self._in_hand = self._sent = self._dropped = self._retries = 0
        self._last_error: str | None = None
        self._failing = False
        self._logged: set[str] = set()

    def offer(self, records: Iterable[CallRecord]) -> None:
        """Queue stored records for export; never blocks, never raises."""
        try:
            for record in records:
                if is_ingested(record) or not exportable(record):
                    continue
                if self._stopping.is_set():
                    self._drop_marks.append(None)
                elif self._holds(record):
                    self._held.append((self._clock() + self._merge_window, record.id))
                elif len(self._queue) >= self._max_queue:
                    self._drop_marks.append(None)
                else:
                    self._queue.append(record)
            if len(self._queue) >= self._batch_size:
                self._wake.set()
        except Exception:  # fail-open boundary: storing must never fail for the exporter
            log.exception("otlp: cannot queue records for export")

    def _holds(self, record: CallRecord) -> bool:
        """Whether ``record`` is held back for a fold (a proxied LLM call)."""
        return self._current is not None and record.kind == "llm" and len(self._held) < MAX_HELD

    def stats(self) -> ExportStats:
        return ExportStats(
            url=self._url,
            # (a flush marker counts: tests only)
            queued=len(self._queue) + len(self._held) + self._in_hand,
            sent=self._sent,
            dropped=self._dropped + len(self._drop_marks),
            retries=self._retries,
            last_error=self._last_error,
        )

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("an OtlpExporter can be started once")
        self._thread = threading.Thread(target=self._run, name="wiretrace-otlp", daemon=True)
        self._thread.start()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything offered before this call was sent or dropped; False if
        ``timeout`` passed first or the thread is not running."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return not self._queue and not self._held
        marker = threading.Event()
        self._flushes.append(marker)  # queued after what is held, by the thread
        self._wake.set()
        return marker.wait(timeout)

    def stop(self, timeout: float) -> bool:
        """Export what is queued within ``timeout`` seconds, count the rest dropped (logged)
        and end the thread; True if nothing was left behind."""
        before = self.stats().dropped
        self._stop_deadline = self._clock() + max(0.0, timeout)
        self._stopping.set()
        self._wake.set()
        self._interrupt.set()
        thread = self._thread
        if thread is not None:
            thread.join(max(0.0, timeout) + 1.0)  # a request in flight ends by its timeout
        else:
            self._release(everything=True)
            self._drain()
        stats = self.stats()
        left = stats.dropped - before + stats.queued
        if left:
            log.warning("otlp: stopped; %d spans not exported (%s)", left, self._url)
        return left == 0 and (thread is None or not thread.is_alive())

    def _run(self) -> None:
        while True:
            if not self._stopping.is_set():
                self._wake.wait(self._schedule_delay)
                self._wake.clear()
            try:
                flushes = [self._flushes.popleft() for _ in range(len(self._flushes))]
                self._release(everything=bool(flushes) or self._stopping.is_set())
                self._queue.extend(flushes)
                self._drain()
            except Exception:  # fail-open boundary: an exporter bug must not end the thread
                self._count_dropped(self._in_hand)
                self._in_hand = 0
                log.exception("otlp: unexpected error, a batch was dropped")
            if self._stopping.is_set() and not self._queue and not self._held:
                return

    def _release(self, *, everything: bool) -> None:
        """Queue the stored version of each held call whose window has passed (of every
        held call if ``everything``), a batch's worth per read."""
        now = self._clock()
        while self._held and (everything or self._held[0][0] <= now):
            ids: list[str] = []
            while self._held and len(ids) < self._batch_size:
                if not everything and self._held[0][0] > now:
                    break
                ids.append(self._held.popleft()[1])
            self._queue_stored(ids)

    def _queue_stored(self, ids: list[str]) -> None:
        assert self._current is not None
        try:
            stored = self._current(ids)
        except Exception as exc:  # fail-open boundary: a failing read loses these, counted
            self._count_dropped(len(ids))
            self._last_error = f"cannot read stored calls to export: {exc}"
            if self._first_time("read"):
                log.warning("otlp: %d calls not exported: %s", len(ids), self._last_error)
            return
        for call_id in ids:
            record = stored.get(call_id)
            if record is None:
                self._count_dropped(1)  # deleted since (a purge)
            elif not is_ingested(record) and exportable(record):
                self._queue.append(record)

    def _drain(self) -> None:
        """Send everything queued now, a batch at a time; past the stop's deadline, count
        what is left dropped."""
        while self._queue:
            if self._clock() >= self._stop_deadline:
                self._abandon()
                return
            records, markers = self._take()
            self._in_hand = len(records)
            if records:
                self._export(records)
            self._in_hand = 0
            for marker in markers:
                marker.set()

    def _abandon(self) -> None:
        while self._queue:
            item = self._queue.popleft()
            if isinstance(item, threading.Event):
                item.set()
            else:
                self._count_dropped(1)

    def _take(self) -> tuple[list[CallRecord], list[threading.Event]]:
        records: list[CallRecord] = []
        markers: list[threading.Event] = []
        while self._queue and len(records) < self._batch_size:
            item = self._queue.popleft()
            if isinstance(item, threading.Event):
                markers.append(item)
            else:
                records.append(item)
        return records, markers

    def _export(self, records: list[CallRecord]) -> None:
        started = self._clock()

        def deadline() -> float:
            return min(started + self._export_timeout, self._stop_deadline)

        for chunk in self._requests(records):
            body = encode_request(chunk)
            outcome = self._sender.send(body, len(chunk), deadline, self._retrying)
            self._account(outcome, len(chunk))

    def _requests(self, records: list[CallRecord]) -> list[list[tuple[str, bytes]]]:
        """The batch's spans, serialised one by one (``encode_request`` says why), cut into
        requests of at most ``MAX_REQUEST_BYTES``."""
        requests: list[list[tuple[str, bytes]]] = [[]]
        size = 0
        for record in records:
            try:
                span = encode_span(record, self._options).SerializeToString()
            except Exception:  # fail-open boundary: one unencodable record loses itself
                self._count_dropped(1)
                if self._first_time("encode"):
                    log.exception("otlp: cannot encode record %s (counted dropped)", record.id)
                continue
            span_size = len(span)
            if requests[-1] and size + span_size > MAX_REQUEST_BYTES:
                requests.append([])
                size = 0
            requests[-1].append((record.project, span))
            size += span_size
            time.sleep(0)  # let the event loop have the GIL between records
        return [request for request in requests if request]

    def _retrying(self, error: str) -> None:
        """A try failed and will be retried: count it and show why now, not at the end."""
        self._retries += 1
        self._last_error = error

    def _account(self, outcome: Outcome, count: int) -> None:
        if outcome.sent:
            self._sent += count - outcome.rejected
            self._count_dropped(outcome.rejected)
            if self._failing:
                self._failing = False
                log.warning("otlp: exporting again to %s", self._url)
            return
        self._count_dropped(count)
        self._last_error = outcome.error
        self._failing = True
        kind = (outcome.error or "").split(":")[0]
        if self._first_time(kind):
            log.warning(
                "otlp: %d spans dropped: %s (logged once, then counted)", count, outcome.error
            )

    def _count_dropped(self, count: int) -> None:
        self._dropped += count

    def _first_time(self, key: str) -> bool:
        first = key not in self._logged
        self._logged.add(key)
        return first
