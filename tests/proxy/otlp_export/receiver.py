"""A local OTLP/HTTP traces receiver for the exporter's tests (aiohttp, on 127.0.0.1).

It decodes each ``ExportTraceServiceRequest`` with ``opentelemetry-proto`` and keeps it;
``script`` sets the answers of the next requests (a status and headers each), after which
it answers 200. A test waits for spans with ``wait_spans`` (a condition, not a sleep).
"""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.harness import LoopThread, start_site

__all__ = ["Answer", "OtlpReceiver", "Received", "attrs", "otlp_receiver", "value"]


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before answering (a slow backend)."""


@dataclass(frozen=True, slots=True)
class Received:
    """One export request as it arrived."""

    at: float
    """``time.monotonic()`` on arrival."""
    headers: dict[str, str]
    """Lower-cased names."""
    request: ExportTraceServiceRequest
    answered: int


def value(any_value: AnyValue) -> object:
    """An OTLP attribute value as Python."""
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [value(v) for v in any_value.array_value.values]
    return getattr(any_value, kind) if kind else None


def attrs(key_values: Iterable[KeyValue]) -> dict[str, object]:
    return {kv.key: value(kv.value) for kv in key_values}


class OtlpReceiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._answers: deque[Answer] = deque()
        self._changed = threading.Condition()
        self.url = ""

    def script(self, *answers: Answer) -> None:
        """The answers of the next requests, in order (then 200)."""
        with self._changed:
            self._answers.extend(answers)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if body[:2] == b"\x1f\x8b":  # still gzipped (aiohttp did not decompress it)
            body = gzip.decompress(body)
        parsed = ExportTraceServiceRequest()
        parsed.ParseFromString(body)
        with self._changed:
            answer = self._answers.popleft() if self._answers else Answer(200)
        if answer.delay:
            await asyncio.sleep(answer.delay)
        with self._changed:
            self.received.append(
                Received(
                    time.monotonic(),
                    {k.lower(): v for k, v in request.headers.items()},
                    parsed,
                    answer.status,
                )
            )
            self._changed.notify_all()
        if answer.status == 200:
            reply = ExportTraceServiceResponse().SerializeToString()
            return web.Response(body=reply, content_type="application/x-protobuf")
        return web.Response(status=answer.status, headers=answer.headers, text="no")

    def spans(self, accepted_only: bool = True) -> list[tuple[dict[str, object], Span]]:
        """Every span received as ``(resource attributes, span)``, in arrival order."""
        with self._changed:
            received = list(self.received)
        found: list[tuple[dict[str, object], Span]] = []
        for item in received:
            if accepted_only and item.answered != 200:
                continue
            for resource_spans in item.request.resource_spans:
                resource = attrs(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    found.extend((resource, span) for span in scope_spans.spans)
        return found

    def wait_requests(self, count: int, timeout: float = 10) -> list[Received]:
        with self._changed:
            ok = self._changed.wait_for(lambda: len(self.received) >= count, timeout)
            assert ok, f"{len(self.received)} requests arrived, expected {count}"
            return list(self.received)

    def wait_spans(self, count: int, timeout: float = 10) -> list[tuple[dict[str, object], Span]]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.spans()) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.spans())} spans arrived, expected {count}"
                self._changed.wait(left)
        return self.spans()


@contextmanager
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """A receiver listening on 127.0.0.1 at ``/v1/traces`` (its ``url``)."""
    receiver = OtlpReceiver()
    app = web.Application()
    app.router.add_post("/v1/traces", receiver.handle)
    thread = LoopThread()
    runner, base = thread.call(start_site(app))
    receiver.url = base + "/v1/traces"
    try:
        yield receiver
    finally:
        thread.call(runner.cleanup())
        thread.close()
