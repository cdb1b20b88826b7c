"""Send spans to the server in background batches, never blocking or breaking the app.

Why this shape (OpenTelemetry's BatchSpanProcessor, Langfuse's queue): the app's thread
only appends to a bounded in-memory buffer; one daemon thread batches, encodes and POSTs.
A full buffer drops the newest events and counts them; the first problem (server
unreachable, buffer full, batch rejected) is logged once at WARNING, later ones at DEBUG.
While the server is down the current batch is retried with exponential back-off (0.5 s
doubling to 30 s); ``flush`` and ``shutdown`` wait to a deadline and always return.
At interpreter exit (``atexit``, registered by ``init``) the buffer is drained with one last
attempt per batch, so a short script that ends right after its last op loses nothing.
After ``os.fork`` the child starts with an empty buffer and a new thread (the parent still
sends what it had buffered).

Wire format (the server's ``POST /api/spans`` accepts exactly this)::

    POST {url}/api/spans
    Content-Type: application/json
    Wiretrace-Sdk: 1

    {"spans": [SpanEvent, ...]}

    SpanEvent = {
      "id": "<16 hex>", "trace_id": "<32 hex>", "parent_id": "<16 hex>" | null,
      "project": str | null, "op_name": str, "display_name": str | null,
      "started_at": "<ISO 8601 UTC, e.g. 2025-01-31T12:00:00.123456Z>",
      "ended_at": "<ISO 8601 UTC>" | null,
      "status": "running" | "ok" | "error",
      "inputs": {name: JSON}, "output": JSON,
      "error": {"type": str, "message": str, "traceback": str} | null,
      "attributes": {str: JSON},
      "op_version": {"digest": str, "source": str, "module": str, "qualname": str} | null,
      "model_version": {"name": str, "digest": str, "attributes": {...}, "source": {...}} | null
    }

Each span is sent twice with the same ``id``: its start (``status: "running"``, ``ended_at``,
``output`` and ``error`` null) and its end (final fields); a span that ends while its start
is still in the buffer is sent once, as its end (the buffered start is encoded when taken,
as the span is then), so short spans take one place in the buffer, not two. Every event is
complete on its own. The two may arrive in either order and a child before its parent;
the server upserts by ``id`` and never lets a ``running`` event overwrite a finished one.
A batch holds at most ``BATCH_SIZE`` events and about ``MAX_BODY`` bytes (a single bigger
event goes alone).
Responses: 2xx accepted; 408, 429, 5xx and network errors are retried; other 4xx drop the
batch (counted). The exporter's requests use ``urllib`` and are never traced or injected.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque

from ._state import auth_headers

TYPE_CHECKING = False
if TYPE_CHECKING:
    from urllib.request import OpenerDirector

    from ._span import Span

__all__ = ["BATCH_SIZE", "MAX_BODY", "MAX_QUEUE", "Exporter"]

log = logging.getLogger(__name__)

MAX_QUEUE = 50_000
"""Events held while the server is slow or down; more are dropped and counted."""
BATCH_SIZE = 500
"""Events per request; reaching it wakes the sending thread."""
MAX_BODY = 4 * 1024 * 1024
"""Approximate bytes per request."""
INTERVAL = 0.2
"""Seconds between sends when fewer than ``BATCH_SIZE`` events are waiting."""
REQUEST_TIMEOUT = 10.0
"""Seconds one POST may take (less when a shutdown deadline is nearer)."""
MAX_BACKOFF = 30.0
"""Longest wait between retries of a batch while the server is down."""


class _Marker:
    """Placed in the buffer by ``flush``: set once every event before it is handled."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class Exporter:
    """Bounded buffer plus one daemon thread POSTing batches to ``{url}/api/spans``."""

    def __init__(self, url: str, *, max_queue: int = MAX_QUEUE, batch_size: int = BATCH_SIZE):
        self.url = url
        """Server base URL, e.g. ``http://127.0.0.1:8787`` (may be changed by ``init``)."""
        self.max_queue = max_queue
        self.batch_size = batch_size
        self.dropped = 0
        """Events lost: buffer full, batch rejected, or undeliverable at shutdown."""
        self.sent = 0
        """Events the server accepted."""
        self.merged = 0
        """Ends submitted while their span's start was still buffered (sent as one event)."""
        self._warned = False
        self._failing = False
        self._reset_runtime()

    def _reset_runtime(self) -> None:
        self._queue: deque[tuple[Span, bool] | _Marker] = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._deadline: float | None = None
        self._closed = False
        self._opener: OpenerDirector | None = None

    # -- app side: must be cheap and never raise ------------------------------------------

    def submit(self, span: Span, final: bool) -> None:
        """Queue the start (``final=False``) or the end of ``span``; an end whose start is
        still queued needs no place of its own (the start is sent as the span is then)."""
        if final and span.queued:
            with self._lock:  # uncontended but for ends in several threads at once
                self.merged += 1
            return
        queue = self._queue
        if len(queue) >= self.max_queue or self._closed:
            self._drop_submitted()
            return
        span.queued = True
        queue.append((span, final))
        if self._thread is None:
            self._start()
        if len(queue) % self.batch_size == 0:
            self._wake.set()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued before this call is handled.

        True when it all reached the server; False on timeout or if events were dropped
        meanwhile.
        """
        if self._closed or (self._thread is None and not self._queue):
            return not self._queue  # after shutdown nothing more will be sent
        dropped = self.dropped
        marker = _Marker()
        self._queue.append(marker)
        if self._thread is None:
            self._start()
        self._wake.set()
        return marker.done.wait(max(timeout, 0.0)) and self.dropped == dropped

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Send what is buffered (one attempt per batch), stop the thread; False on timeout."""
        self._deadline = time.monotonic() + max(timeout, 0.0)
        self._closed = True
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is None:
            self._drop(len(self._queue), "never sent")
            return not self._queue
        thread.join(max(timeout, 0.0))
        return not thread.is_alive()

    def after_fork_in_child(self) -> None:
        """Forget the parent's buffer, locks and thread; a new thread starts on demand."""
        self._reset_runtime()

    # -- internals -------------------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            thread = threading.Thread(target=self._run, name="wiretrace-exporter", daemon=True)
            try:
                thread.start()
            except RuntimeError:  # interpreter shutting down: nothing can be sent any more
                self._closed = True
                return
            self._thread = thread

    def _drop_submitted(self) -> None:
        if self._closed:  # after shutdown (interpreter exit): count, nothing to warn about
            with self._lock:
                self.dropped += 1
            return
        self._drop(1, f"span buffer full ({self.max_queue} events); spans are being dropped")

    def _drop(self, count: int, reason: str) -> None:
        if count <= 0:
            return
        with self._lock:
            self.dropped += count
        self._problem("wiretrace: %s (%d dropped so far)", reason, self.dropped)

    def _problem(self, message: str, *args: object) -> None:
        with self._lock:
            first, self._warned = not self._warned, True
        log.log(logging.WARNING if first else logging.DEBUG, message, *args)

    def _run(self) -> None:
        while True:
            self._wake.wait(INTERVAL)
            self._wake.clear()
            try:
                self._drain()
            except Exception:  # fail-open boundary: the thread must survive anything
                log.debug("wiretrace: exporter error", exc_info=True)
            if self._stop.is_set() and not self._queue:
                return

    def _drain(self) -> None:
        while self._queue:
            parts, marker = self._take()
            if parts:
                body = b'{"spans":[' + b",".join(parts) + b"]}"
                self._deliver(body, len(parts))
            if marker is not None:
                marker.done.set()

    def _take(self) -> tuple[list[bytes], _Marker | None]:
        parts: list[bytes] = []
        size = 0
        queue = self._queue
        while queue and len(parts) < self.batch_size and size < MAX_BODY:
            item = queue.popleft()
            if isinstance(item, _Marker):
                return parts, item
            span, final = item
            span.queued = False  # before reading the span: an end submitted after is queued
            final = final or span.ended_ns is not None
            try:
                data = json.dumps(span.to_event(final), separators=(",", ":"), default=str)
            except Exception:  # fail-open: a value json cannot take loses only its event
                self._drop(1, "an event could not be encoded")
                continue
            encoded = data.encode("utf-8", "surrogatepass")
            parts.append(encoded)
            size += len(encoded)
        return parts, None

    def _deliver(self, body: bytes, count: int) -> None:
        backoff = 0.5
        while True:
            outcome = self._post(body)
            if outcome == "ok":
                self.sent += count
                if self._failing:
                    self._failing = False
                    log.info("wiretrace: server at %s reachable again", self.url)
                return
            if outcome == "reject" or self._stop.is_set():
                self._drop(count, f"batch not delivered to {self.url}")
                return
            self._stop.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _post(self, body: bytes) -> str:
        """One POST; ``ok``, ``retry`` (network, 408, 429, 5xx) or ``reject`` (other 4xx)."""
        import urllib.error
        import urllib.request

        timeout = REQUEST_TIMEOUT
        if self._deadline is not None:
            timeout = min(timeout, self._deadline - time.monotonic())
            if timeout <= 0:
                return "retry"
        if self._opener is None:
            self._opener = urllib.request.build_opener()
        request = urllib.request.Request(
            self.url + "/api/spans",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Wiretrace-Sdk": "1", **auth_headers()},
        )
        try:
            with self._opener.open(request, timeout=timeout) as response:
                response.read()
                status = int(response.status)
        except urllib.error.HTTPError as error:
            status = error.code
            error.close()
        except Exception as error:  # fail-open boundary: network errors of any kind
            self._failing = True
            self._problem(
                "wiretrace: cannot send spans to %s (%s); the app keeps running, spans are "
                "kept in a buffer of %d and retried, then dropped and counted",
                self.url,
                error,
                self.max_queue,
            )
            return "retry"
        if 200 <= status < 300:
            return "ok"
        if status in (408, 429) or status >= 500:
            self._failing = True
            self._problem("wiretrace: server at %s answered %d; retrying", self.url, status)
            return "retry"
        if status == 401:
            self._problem(
                "wiretrace: server at %s wants a token (started with --auth-token): set "
                "WIRETRACE_TOKEN; spans are dropped until then",
                self.url,
            )
        else:
            self._problem("wiretrace: server at %s rejected a batch with %d", self.url, status)
        return "reject"
