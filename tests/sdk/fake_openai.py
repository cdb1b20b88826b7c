"""A fake OpenAI server for SDK injection tests: it records what the client sent.

``ThreadingHTTPServer`` on 127.0.0.1 answering ``POST /v1/chat/completions`` with a valid
``chat.completion`` (or an SSE stream of ``chat.completion.chunk`` when ``stream`` is
true), recording each request's path and headers. ``init(url=fake.url)`` makes it the
"proxy" that requests meant for ``api.openai.com`` are rewritten to; the fail-open tests
also use one as the original destination itself, and start one on a port ``init()`` was
pointed at while nothing listened there (``FakeOpenAI(port)``).
"""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    """Lower-cased header names."""
    body: dict[str, object]


def _completion() -> dict[str, object]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "hello"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }


def _chunks() -> list[dict[str, object]]:
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    return [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "hel"}}]},
        {**base, "choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}]},
    ]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionResetError):  # a client hung up
            super().handle_error(request, client_address)


class FakeOpenAI:
    """Records requests; ``url`` is its base (pass it to ``wiretrace.init``).

    It also answers the SDK's ``POST /api/spans`` (recorded apart, in ``other``), since
    ``init(url=...)`` makes it both the proxy and the span server.
    """

    def __init__(self, port: int = 0) -> None:
        self.seen: list[Seen] = []
        """Requests to ``/v1/...``."""
        self.other: list[Seen] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", port), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with fake._lock:
                    if self.path.startswith("/v1/"):
                        fake.seen.append(Seen(self.path, headers, body))
                    else:  # the SDK's span batches, when the fake also plays the server
                        fake.other.append(Seen(self.path, headers, body))
                if body.get("stream"):
                    data = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in _chunks())
                    data += b"data: [DONE]\n\n"
                    content_type = "text/event-stream"
                else:
                    data = json.dumps(_completion()).encode()
                    content_type = "application/json"
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # /healthz, as the SDK's re-check asks the server
                data = b'{"status":"ok"}' if self.path == "/healthz" else b"{}"
                self.send_response(200 if self.path == "/healthz" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler

    def last(self) -> Seen:
        with self._lock:
            return self.seen[-1]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
