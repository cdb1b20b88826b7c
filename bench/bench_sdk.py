"""Benchmark of the wiretrace SDK: per-call cost of ``@op``, burst flush time, import time.

Run: ``.venv/bin/python bench/bench_sdk.py``. A tiny collector (``ThreadingHTTPServer`` on
127.0.0.1, counting the spans it receives) plays the server, so the exporter thread really
encodes and POSTs while the app thread is measured. Targets: under 20 µs per op
call on the app's thread, and a 10,000-op burst flushed within 2 s.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import wiretrace


class _Counter:
    def __init__(self) -> None:
        self.finals = 0
        self.events = 0
        self.changed = threading.Condition()
        counter = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                spans = json.loads(body)["spans"]
                with counter.changed:
                    counter.events += len(spans)
                    counter.finals += sum(1 for s in spans if s["status"] != "running")
                    counter.changed.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_finals(self, count: int, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.finals >= count, timeout)


def plain(x: int, y: int = 1) -> int:
    return x + y


@wiretrace.op
def traced(x: int, y: int = 1) -> int:
    return x + y


@wiretrace.op
def traced_payload(query: str, docs: list[dict[str, object]]) -> int:
    return len(docs)


def _per_call(fn: Callable[..., object], rounds: int, per_round: int, *args: object) -> float:
    """Median µs per call over ``rounds``; flushes between rounds (not timed)."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for i in range(per_round):
            fn(i, *args)
        samples.append((time.perf_counter() - start) / per_round * 1e6)
        wiretrace.finish(10)
    return statistics.median(samples)


def _import_time() -> tuple[float, float, float, float]:
    """Fresh-process import costs, with bytecode cached (in a temporary pycache prefix).

    Returns, in ms, medians of 5: ``-X importtime`` cumulative for ``import wiretrace``
    alone, the same when ``logging`` is already imported (as in nearly every app), and the
    wall time of ``import wiretrace`` and of ``import wiretrace`` + ``init()``.
    """
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache

        def run(*args: str) -> str:
            done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True)
            return done.stdout + done.stderr

        run("-c", "import wiretrace, wiretrace._exporter, wiretrace._inject")  # warm the cache

        def cumulative(code: str) -> float:
            out = run("-X", "importtime", "-c", code)
            line = next(row for row in out.splitlines() if row.rstrip().endswith("| wiretrace"))
            return float(line.split("|")[1]) / 1e3

        alone = statistics.median(cumulative("import wiretrace") for _ in range(5))
        own = statistics.median(cumulative("import logging; import wiretrace") for _ in range(5))
        timer = "import time; t = time.perf_counter(); import wiretrace; "
        show = "print((time.perf_counter() - t) * 1e3)"
        bare = [float(run("-c", timer + show)) for _ in range(5)]
        init = "wiretrace.init(url='http://127.0.0.1:9'); "
        with_init = [float(run("-c", timer + init + show)) for _ in range(5)]
    return alone, own, statistics.median(bare), statistics.median(with_init)


def main() -> None:
    counter = _Counter()
    rounds, per_round = 20, 5_000
    base = _per_call(plain, rounds, per_round)
    no_init = _per_call(traced, rounds, per_round)
    wiretrace.init(project="bench", url=counter.url)
    with_exporter = _per_call(traced, rounds, per_round)
    docs = [{"id": n, "text": "lorem ipsum " * 20, "score": 0.5} for n in range(5)]
    payload = _per_call(traced_payload, rounds, per_round // 5, docs)
    print(f"plain call                 {base:8.2f} µs  ({1e6 / base:,.0f} calls/s)")
    print(f"@op, no init()             {no_init:8.2f} µs  (+{no_init - base:.2f} µs)")
    print(f"@op, exporter running      {with_exporter:8.2f} µs  (+{with_exporter - base:.2f} µs)")
    print(f"@op, 5-doc payload input   {payload:8.2f} µs  (+{payload - base:.2f} µs)")
    print(f"                           {1e6 / with_exporter:,.0f} op calls/s")

    already = counter.finals
    start = time.perf_counter()
    for i in range(10_000):
        traced(i)
    burst = time.perf_counter() - start
    delivered = counter.wait_finals(already + 10_000, 30)
    total = time.perf_counter() - start
    after = (total - burst) * 1e3
    print(f"10,000-op burst: calls took {burst * 1e3:.0f} ms; all 10,000 spans on the collector")
    print(f"                 {total * 1e3:.0f} ms after the first call ({after:.0f} ms after the")
    print(f"                 last; delivered={delivered})")
    alone, own, bare, with_init = _import_time()
    print(f"import wiretrace: {alone:.2f} ms (-X importtime cumulative; {own:.2f} ms of it is")
    print("                  wiretrace's own, the rest is the stdlib `logging` package)")
    print(f"import wiretrace: {bare:.2f} ms wall; import + init(): {with_init:.2f} ms wall")
    exporter = wiretrace._state.STATE.exporter
    assert exporter is not None
    print(f"exporter: sent={exporter.sent} dropped={exporter.dropped}")


if __name__ == "__main__":
    main()
