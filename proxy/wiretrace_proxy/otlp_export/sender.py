"""One OTLP/HTTP export, retried as the OTLP specification says (stdlib HTTP, blocking).

Runs on the exporter's own thread, never on the event loop. The rules:

- 200 is success; a ``partial_success`` with rejected spans is logged and never retried.
- 429, 502, 503 and 504 are retried, and so is a connection that fails (refused, reset,
  timed out): after ``Retry-After`` when the answer has one (seconds or an HTTP date),
  else after an exponential backoff ``base * 2**n``, each wait with +/-20% jitter.
- Any other status (400 bad data, 401, 404, 413, 500...) is final: the batch is dropped.
- At most ``MAX_ATTEMPTS`` tries, and none whose wait would pass the deadline.

Environment proxies (``HTTP_PROXY``) are not used and redirects are not followed (a 3xx is
final): like the upstream connection, the exporter talks to the URL it was given.
"""

from __future__ import annotations

import gzip
import http.client
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from wiretrace_proxy import __version__
from wiretrace_proxy.otlp_export.endpoint import Headers

__all__ = ["MAX_ATTEMPTS", "RETRYABLE", "Outcome", "Sender", "retry_after"]

log = logging.getLogger(__name__)

RETRYABLE = frozenset({429, 502, 503, 504})
MAX_ATTEMPTS = 6
REQUEST_TIMEOUT_S = 10.0
USER_AGENT = f"wiretrace-otlp-exporter/{__version__} (python)"


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an export ended: ``sent`` spans accepted, ``retries`` made, ``error`` if not."""

    sent: bool
    retries: int
    error: str | None = None
    rejected: int = 0
    """Spans a partial success named as rejected (dropped; not retried)."""


class Sender:
    """POSTs encoded requests to one traces URL; see the module docstring."""

    def __init__(
        self,
        url: str,
        headers: Headers = (),
        *,
        gzip_body: bool = True,
        backoff_base: float = 1.0,
        interrupt: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._headers = {"Content-Type": "application/x-protobuf", "User-Agent": USER_AGENT}
        self._headers.update(dict(headers))
        self._gzip = gzip_body
        self._backoff_base = backoff_base
        self._interrupt = interrupt or threading.Event()
        """Set to cut a wait between tries short (a stop); the next try then still runs."""
        self._clock = clock
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())

    def send(
        self,
        body: bytes,
        count: int,
        deadline: Callable[[], float],
        on_retry: Callable[[str], object] | None = None,
    ) -> Outcome:
        """Export one serialised ``ExportTraceServiceRequest`` of ``count`` spans, retrying
        until ``deadline()`` (``clock`` time; it may move closer while waiting, as on a
        stop: ``interrupt`` then makes the wait look at it again). ``on_retry`` hears each
        failed try that will be retried, as it happens (``/healthz`` shows it at once)."""
        payload = gzip.compress(body, compresslevel=6) if self._gzip else body
        headers = dict(self._headers)
        if self._gzip:
            headers["Content-Encoding"] = "gzip"
        retries = 0
        for attempt in range(MAX_ATTEMPTS):
            left = deadline() - self._clock()
            if left <= 0:
                return Outcome(False, retries, "export deadline passed")
            timeout = min(left, REQUEST_TIMEOUT_S)
            status, wait, error, rejected = self._post(payload, headers, timeout)
            if error is None:
                if rejected:
                    log.warning("otlp: the backend rejected %d of %d spans", rejected, count)
                return Outcome(True, retries, None, rejected)
            if status is not None and status not in RETRYABLE:
                return Outcome(False, retries, error)
            delay = wait if wait is not None else self._backoff(attempt)
            if attempt == MAX_ATTEMPTS - 1 or self._clock() + delay >= deadline():
                return Outcome(False, retries, error)
            retries += 1
            if on_retry is not None:
                on_retry(error)
            if not self._pause(delay, deadline):
                return Outcome(False, retries, error)
        raise AssertionError("unreachable: the last attempt returns")

    def _pause(self, delay: float, deadline: Callable[[], float]) -> bool:
        """Wait ``delay`` seconds before the next try; False if ``interrupt`` says the
        deadline moved closer than the end of the wait."""
        until = self._clock() + delay
        self._interrupt.wait(delay)
        left = until - self._clock()
        if left > 0:  # interrupted: the deadline may have moved closer
            if until >= deadline():
                return False
            time.sleep(left)
        return True

    def _backoff(self, attempt: int) -> float:
        return float(self._backoff_base * 2**attempt * random.uniform(0.8, 1.2))

    def _post(
        self, payload: bytes, headers: dict[str, str], timeout: float
    ) -> tuple[int | None, float | None, str | None, int]:
        """``(status, Retry-After seconds, error, rejected spans)``; error None = success."""
        request = urllib.request.Request(self._url, data=payload, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=timeout) as response:
                body = response.read()
                return response.status, None, None, _rejected(body)
        except urllib.error.HTTPError as exc:
            with exc:
                detail = exc.read(200).decode("utf-8", "replace").strip()
            wait = retry_after(exc.headers, self._now())
            message = f"HTTP {exc.code} from {self._url}" + (f": {detail}" if detail else "")
            return exc.code, wait, message, 0
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            return None, None, f"cannot reach {self._url}: {reason}", 0

    @staticmethod
    def _now() -> datetime:
        return datetime.now(UTC)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is a final answer: urllib would follow it with a GET, losing the body."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _rejected(body: bytes) -> int:
    if not body:
        return 0
    response = ExportTraceServiceResponse()
    try:
        response.ParseFromString(body)
    except DecodeError:
        return 0  # a success that says nothing readable is still a success
    if response.HasField("partial_success"):
        return int(response.partial_success.rejected_spans)
    return 0


def retry_after(headers: Message, now: datetime) -> float | None:
    """``Retry-After`` in seconds (a number, or an HTTP date from ``now``), or None."""
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
