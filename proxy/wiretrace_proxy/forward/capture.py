"""Per-call buffer filled on the request path: bytes and times, nothing parsed.

``forward.handler`` appends what it already has in hand (request bytes, response chunks) and stamps
times; every method here is O(1) apart from the append, never awaits, never parses, and never
touches storage. The recorder turns a finished ``Capture`` into a ``CallRecord`` later, on the
writer's thread. Bodies are kept up to a cap so a 50 MB upload does not sit in memory.
"""

from __future__ import annotations

import copy
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from wiretrace_proxy.endpoints import Endpoint

Outcome = Literal["ok", "error", "cancelled", "running"]
"""How the call ended; ``running`` only on a ``running_snapshot`` of a call still going."""

TAIL_BYTES = 64 * 1024
"""Bytes kept of the end of a response body that went over the cap."""


@dataclass(slots=True)
class RequestMeta:
    """Wiretrace-* (and Helicone-* alias) headers and trace context, read from the request."""

    project: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    name: str | None = None
    session_path: str | None = None
    """Helicone's ``Helicone-Session-Path`` (e.g. ``/plan/step-2``), kept for grouping."""
    properties: dict[str, str] = field(default_factory=dict)
    traceparent: str | None = None
    tracestate: str | None = None
    eval_run: str | None = None
    """``Wiretrace-Eval-Run``: the evaluation run this call was made for."""
    eval_row: str | None = None
    """``Wiretrace-Eval-Row``: ``<row_index>`` or ``<row_index>:<trial>``, as sent."""


@dataclass(slots=True)
class Capture:
    """Everything seen of one proxied call, as bytes and monotonic times."""

    call_id: str
    method: str
    path: str
    """Path as received, e.g. ``/v1/chat/completions``."""
    query: str
    started_wall: float
    """``time.time()`` at arrival: the record's ``started_at``."""
    t0: float
    """``time.perf_counter()`` at arrival; every other time is relative to the same clock."""
    request_headers: list[tuple[str, str]]
    """Headers as received (secrets included: redacted by the recorder, never stored).

    Values are decoded as UTF-8, or as Latin-1 when they are not valid UTF-8 (those are
    named in ``headers_not_utf8``)."""
    meta: RequestMeta
    max_body_bytes: int
    """Cap on bytes kept per body; the excess is counted, not kept."""
    response_cap: int | None = None
    """Tighter cap for this response (e.g. binary audio), set once its type is known."""
    upstream: str = ""
    """The base URL the call is forwarded to (``--upstream``): the recorder names the
    record's ``upstream_host`` and ``provider`` from it."""

    headers_not_utf8: tuple[str, ...] = ()
    """Names (as sent) of request headers whose values were not valid UTF-8: their text in
    ``request_headers`` is the Latin-1 reading of the bytes."""

    request_body: bytes | bytearray = b""
    """Kept request bytes: a body read whole is the very object it was read into (no copy)."""
    request_size: int = 0
    request_truncated: bool = False
    usage_injected: bool = False
    """The proxy added ``stream_options.include_usage`` upstream (and strips it downstream)."""

    status: int | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    """Response body as received from the upstream (before any downstream filtering)."""
    response_size: int = 0
    response_truncated: bool = False
    tail: deque[bytes] = field(default_factory=deque)
    """The last ``TAIL_BYTES`` (or a little more) of a body that went over the cap: a
    stream's end (finish reasons, the usage chunk) is there, so a long stream's record still
    has them."""
    tail_size: int = 0
    delivered_size: int = 0
    """Leading response bytes (counted as received, like ``response_size``) that the client's
    transport accepted: what the client was handed, less what the usage filter still held.
    The recorder compares it with the body to tell a client that closed after the
    response's end from one that left before it."""
    upstream_ended: bool = False
    """The upstream's end of body was read (every byte of the response was received)."""

    t_first_chunk: float | None = None
    t_end: float | None = None
    upstream_wait: float = 0.0
    """Seconds spent awaiting the upstream (connect, headers, each body read)."""

    app_host: str | None = None
    """The host the app addressed, when it is not the upstream's: an intercepted call's
    LLM host (``host`` or ``host:port``), whatever ``--route`` sent it to."""

    outcome: Outcome | None = None
    error_type: str | None = None
    error_message: str | None = None

    endpoint: Endpoint = field(init=False)
    """The path's kind, asked once here and passed on to everything that depends on it."""

    def __post_init__(self) -> None:
        self.endpoint = Endpoint.of(self.path)

    def add_request(self, data: bytes | bytearray, cap: int | None = None) -> None:
        """Keep request bytes up to the cap (default ``max_body_bytes``), count all of them."""
        self.request_size += len(data)
        kept = self.request_body
        room = (self.max_body_bytes if cap is None else cap) - len(kept)
        if not kept and room >= len(data):
            self.request_body = data  # the first (or only) piece: kept as is, not copied
            return
        if room <= 0:
            self.request_truncated = True
            return
        if not isinstance(kept, bytearray):
            kept = self.request_body = bytearray(kept)
        if room >= len(data):
            kept += data
        else:
            kept += memoryview(data)[:room]
            self.request_truncated = True

    def start_response(self, status: int, headers: list[tuple[str, str]]) -> None:
        self.status = status
        self.response_headers = headers

    def add_chunk(self, chunk: bytes) -> None:
        """Keep one upstream body chunk (up to the cap) and stamp the first one's time."""
        if self.t_first_chunk is None:
            self.t_first_chunk = time.perf_counter()
        self.response_size += len(chunk)
        cap = self.max_body_bytes if self.response_cap is None else self.response_cap
        if self.response_size <= cap:
            self.chunks.append(chunk)
            return
        if not self.response_truncated:  # the chunk that crosses the cap: keep up to it
            self.response_truncated = True
            room = cap - (self.response_size - len(chunk))
            if room > 0:
                self.chunks.append(chunk[:room])
                chunk = chunk[room:]
        tail = self.tail
        tail.append(chunk)
        self.tail_size += len(chunk)
        while self.tail_size - len(tail[0]) >= TAIL_BYTES:
            self.tail_size -= len(tail.popleft())

    def finish(
        self, outcome: Outcome, error_type: str | None = None, error_message: str | None = None
    ) -> None:
        """Close the capture once; later calls keep the first outcome."""
        if self.outcome is not None:
            return
        self.outcome = outcome
        self.error_type = error_type
        self.error_message = error_message
        self.t_end = time.perf_counter()

    def running_snapshot(self) -> Capture:
        """A copy of this capture with the outcome ``running`` and no response body yet: the
        record of a long call still going (the final capture replaces it once the call
        ends). The request is shared (it is complete once the response started); the
        output waits for the final record, so a running record costs the writer little."""
        snapshot = copy.copy(self)
        snapshot.chunks = []
        snapshot.tail = deque()
        snapshot.response_size = snapshot.tail_size = 0
        snapshot.response_truncated = False
        snapshot.outcome = "running"
        snapshot.t_end = None
        return snapshot

    @property
    def body(self) -> bytes:
        """The kept response body as one bytes object (joined lazily, off the hot path)."""
        return b"".join(self.chunks)
