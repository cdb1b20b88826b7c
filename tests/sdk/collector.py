"""A tiny span collector: the server side of ``POST /api/spans``, in memory, for tests.

A ``ThreadingHTTPServer`` on 127.0.0.1 (port 0) that records every posted batch, with its
headers, and lets a test wait for a condition on an ``threading.Condition`` instead of
sleeping. ``status`` can be set to make it answer errors; ``stop()`` closes the socket so
the port refuses connections (server down).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SpanEvent = dict[str, Any]


class Collector:
    """Records ``POST /api/spans`` bodies; ``url`` is the base to pass to ``init``."""

    def __init__(self, port: int = 0) -> None:
        self.events: list[SpanEvent] = []
        self.batch_sizes: list[int] = []
        self.requests: list[dict[str, str]] = []
        """Headers of every request, lower-cased names."""
        self.status = 200
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = collector.status
                if self.path == "/api/spans" and status == 200:
                    spans = json.loads(body)["spans"]
                    with collector._changed:
                        collector.requests.append(headers)
                        collector.events.extend(spans)
                        collector.batch_sizes.append(len(spans))
                        collector._changed.notify_all()
                else:
                    with collector._changed:
                        collector.requests.append(headers)
                        collector._changed.notify_all()
                self.send_response(status if self.path == "/api/spans" else 404)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler

    def wait_for(self, predicate: Callable[[Collector], bool], timeout: float = 10.0) -> bool:
        """Block until ``predicate(self)`` holds (checked on every POST) or timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self), timeout)

    def finals(self) -> dict[str, SpanEvent]:
        """The final event of each span, by span id."""
        with self._changed:
            return {e["id"]: e for e in self.events if e["status"] != "running"}

    def starts(self) -> dict[str, SpanEvent]:
        with self._changed:
            return {e["id"]: e for e in self.events if e["status"] == "running"}

    def by_name(self, op_name: str) -> list[SpanEvent]:
        return [e for e in self.finals().values() if e["op_name"] == op_name]

    def one(self, op_name: str) -> SpanEvent:
        found = self.by_name(op_name)
        assert len(found) == 1, f"{op_name}: {len(found)} final events"
        return found[0]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@contextmanager
def running() -> Iterator[Collector]:
    collector = Collector()
    try:
        yield collector
    finally:
        collector.stop()


def free_port() -> int:
    """A port nothing listens on (connections are refused): the server is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def finished(count: int) -> Callable[[Collector], bool]:
    """Predicate: at least ``count`` spans have their final event."""
    return lambda c: len(c.finals()) >= count
