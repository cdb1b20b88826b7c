"""Send an evaluation run's rows to the server as they finish, from a background thread.

Why a thread of its own (the span exporter's shape): the evaluation must never wait on
the server. ``row()`` only appends to a list; one daemon thread POSTs, in order, the run's
creation, the rows in batches (``POST /api/evaluations/runs/{id}/rows``), an empty batch
as a heartbeat when nothing was sent for ``HEARTBEAT`` seconds, and the finish. While the
server cannot be reached the pending request is retried with back-off; ``close`` waits to
a deadline and always returns: an evaluation run against a server that is down still gives
its summary, and says on stderr that its rows were not stored. A 4xx answer drops that
request (logged once); rows already stored stay stored, and a later resume re-runs the rest.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from typing import Any

from ._state import auth_headers

__all__ = ["BATCH_SIZE", "HEARTBEAT", "RunReporter"]

log = logging.getLogger(__name__)

BATCH_SIZE = 200
"""Rows per request; reaching it wakes the thread."""
INTERVAL = 0.5
"""Seconds between sends when fewer rows are waiting."""
HEARTBEAT = 10.0
"""Seconds without a request after which an empty batch says the run is alive."""
REQUEST_TIMEOUT = 10.0
MAX_BACKOFF = 10.0


class RunReporter:
    """Ordered, batched, fail-open delivery of one run to ``{url}/api/evaluations/runs``."""

    def __init__(self, url: str, run_id: str) -> None:
        self.url = url
        self.run_id = run_id
        self.rows_sent = 0
        self.rows_dropped = 0
        self.finished_run: dict[str, Any] | None = None
        """The run as the finish request answered it, when it did."""
        self._pending: deque[tuple[str | None, Any]] = deque()
        """``(path, body)`` to POST in order; ``(None, row)`` for a row report."""
        self._rows_path = f"/api/evaluations/runs/{run_id}/rows"
        self._finish_path = f"/api/evaluations/runs/{run_id}/finish"
        self.ever_delivered = False
        """Whether any request reached the server (a close then waits longer)."""
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._deadline: float | None = None
        self._warned = False
        self._last_sent = time.monotonic()
        self._opener = urllib.request.build_opener()
        self._auth = auth_headers()
        """``Authorization`` from ``$WIRETRACE_TOKEN`` (a server started with --auth-token)."""
        self._thread = threading.Thread(target=self._run, name="wiretrace-eval", daemon=True)
        self._thread.start()

    # -- the evaluation's side: never blocks, never raises --------------------------------

    def post(self, path: str, body: dict[str, Any]) -> None:
        """Queue a JSON POST to ``path`` (the run's creation, the dataset)."""
        self._put(path, body)

    def row(self, row: dict[str, Any]) -> None:
        with self._lock:
            self._pending.append((None, row))
            full = len(self._pending) >= BATCH_SIZE
        if full:
            self._wake.set()

    def finish(self, body: dict[str, Any]) -> None:
        self._put(self._finish_path, body)

    def close(self, timeout: float) -> bool:
        """Send what is pending (to ``timeout`` seconds) and stop; True when all was sent."""
        self._deadline = time.monotonic() + max(timeout, 0.0)
        self._closing.set()
        self._wake.set()
        self._thread.join(max(timeout, 0.0) + 1.0)
        with self._lock:
            left = [item for item in self._pending if item[0] is None]
            self.rows_dropped += len(left)
            self._pending.clear()
        return not left and not self._thread.is_alive()

    def _put(self, kind: str | None, body: dict[str, Any]) -> None:
        with self._lock:
            self._pending.append((kind, body))
        self._wake.set()

    # -- the thread ----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(INTERVAL)
            self._wake.clear()
            try:
                self._drain()
            except Exception:  # fail-open boundary: the thread must survive anything
                log.debug("wiretrace: evaluation reporter error", exc_info=True)
            with self._lock:
                empty = not self._pending
            if self._closing.is_set() and (empty or self._past_deadline()):
                return

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    break
                path, body = self._pending[0]
                batch: list[dict[str, Any]] = []
                if path is None:
                    while self._pending and self._pending[0][0] is None:
                        batch.append(self._pending.popleft()[1])
                        if len(batch) >= BATCH_SIZE:
                            break
                else:
                    self._pending.popleft()
            if path is None:
                if self._deliver(self._rows_path, {"rows": batch}) is None:
                    self.rows_dropped += len(batch)
                else:
                    self.rows_sent += len(batch)
            else:
                answer = self._deliver(path, body)
                if path == self._finish_path and isinstance(answer, dict):
                    self.finished_run = answer
        if not self._closing.is_set() and time.monotonic() - self._last_sent >= HEARTBEAT:
            self._deliver(self._rows_path, {"rows": []})

    def _past_deadline(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    def _deliver(self, path: str, body: object) -> object | None:
        """POST until answered (retrying network errors, 408, 429 and 5xx with back-off, up
        to the close deadline); the decoded answer, or None when it was not delivered."""
        data = json.dumps(body, default=str).encode("utf-8", "surrogatepass")
        backoff = 0.25
        while True:
            status, answer = self._post(path, data)
            self._last_sent = time.monotonic()
            if status is not None and 200 <= status < 300:
                self.ever_delivered = True
                return answer if answer is not None else {}
            if status in (401, 403):
                self._problem(
                    f"the server refused {path} ({status}): it wants a token (started with "
                    "--auth-token): set WIRETRACE_TOKEN; the run is not stored"
                )
                return None
            if status is not None and status not in (408, 429) and status < 500:
                self._problem(f"the server answered {status} to {path}; not stored")
                return None
            if self._past_deadline():
                return None
            self._problem(f"cannot reach {self.url} ({status or 'no answer'}); retrying")
            wait = (
                backoff
                if self._deadline is None
                else min(backoff, self._deadline - time.monotonic())
            )
            time.sleep(max(wait, 0.0))
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _post(self, path: str, data: bytes) -> tuple[int | None, object]:
        timeout = REQUEST_TIMEOUT
        if self._deadline is not None:
            timeout = max(min(timeout, self._deadline - time.monotonic()), 0.1)
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json", "Wiretrace-Sdk": "1", **self._auth},
        )
        try:
            with self._opener.open(request, timeout=timeout) as response:
                raw = response.read()
                status = int(response.status)
        except urllib.error.HTTPError as error:
            error.close()
            return error.code, None
        except Exception:  # fail-open boundary: network errors of any kind
            return None, None
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None

    def _problem(self, message: str) -> None:
        first, self._warned = not self._warned, True
        log.log(
            logging.WARNING if first else logging.DEBUG,
            "wiretrace: evaluation %s: %s",
            self.run_id,
            message,
        )
