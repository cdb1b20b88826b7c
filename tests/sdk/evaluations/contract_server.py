"""An in-memory stand-in for the server's evaluation API, for SDK unit tests.

It implements the contract the SDK talks to (and nothing else): ``POST /api/spans``,
``POST /api/datasets``, ``POST /api/evaluations/runs`` (create, or 200 with the run when
the id exists), ``POST .../{id}/rows`` (upsert by row_index and trial), ``POST .../{id}/finish``,
``GET .../{id}`` and ``GET .../{id}/rows``. The end-to-end tests run the real server.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Json = dict[str, Any]
_RUN = re.compile(r"^/api/evaluations/runs/([^/]+)(/rows|/finish)?$")


class ContractServer:
    def __init__(self) -> None:
        self.runs: dict[str, Json] = {}
        self.rows: dict[str, dict[tuple[int, int], Json]] = {}
        self.datasets: list[Json] = []
        self.spans: list[Json] = []
        self.row_posts: list[int] = []
        """Rows per ``/rows`` request, in order (0: a heartbeat)."""
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def wait_for(self, predicate: Callable[[ContractServer], bool], timeout: float = 20) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self), timeout)

    def stored(self, run_id: str) -> list[Json]:
        with self._changed:
            return [self.rows.get(run_id, {})[key] for key in sorted(self.rows.get(run_id, {}))]

    def spans_named(self, name: str) -> list[Json]:
        with self._changed:
            finals = {s["id"]: s for s in self.spans if s["status"] != "running"}
        return [s for s in finals.values() if s["op_name"] == name]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def _post(self, path: str, body: Json) -> tuple[int, object]:
        if path == "/api/spans":
            self.spans.extend(body["spans"])
            return 200, {}
        if path == "/api/datasets":
            self.datasets.append(body)
            return 201, {"name": body["name"], "row_count": len(body["rows"])}
        if path == "/api/evaluations/runs":
            run_id = body["id"]
            if run_id in self.runs:
                self.runs[run_id]["status"] = "running"
                return 200, self.runs[run_id]
            self.runs[run_id] = {**body, "status": "running", "summary": {}}
            self.rows[run_id] = {}
            return 201, self.runs[run_id]
        match = _RUN.match(path)
        if match is None or match.group(1) not in self.runs:
            return 404, {"error": {"message": "not found"}}
        run_id, action = match.groups()
        if action == "/rows":
            for row in body["rows"]:
                self.rows[run_id][(row["row_index"], row["trial"])] = row
            self.row_posts.append(len(body["rows"]))
            return 200, {"stored": len(body["rows"])}
        if action == "/finish":
            run = self.runs[run_id]
            run.update(status=body["status"], summary=body.get("summary") or {})
            run["usage"] = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
            return 200, run
        return 405, {}

    def _get(self, path: str, query: dict[str, list[str]]) -> tuple[int, object]:
        match = _RUN.match(path)
        if match is None or match.group(1) not in self.runs:
            return 404, {"error": {"message": "not found"}}
        run_id, action = match.groups()
        if action is None:
            return 200, self.runs[run_id]
        rows = self.stored(run_id)
        offset = int(query.get("offset", ["0"])[0])
        limit = int(query.get("limit", ["100"])[0])
        return 200, {"rows": rows[offset : offset + limit], "total": len(rows)}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                with server._changed:
                    status, answer = server._post(urlsplit(self.path).path, body)
                    server._changed.notify_all()
                self._answer(status, answer)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                status, answer = server._get(parts.path, parse_qs(parts.query))
                self._answer(status, answer)

            def _answer(self, status: int, answer: object) -> None:
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler
