"""Benchmark of OTLP ingest: spans per second from export to stored.

Run: ``.venv/bin/python bench/bench_otlp.py [--spans 50000] [--batch 512] [--threads 4]``.
It starts a real ``wiretrace serve`` (temporary SQLite file, an upstream that is never
called) as a process of its own on 127.0.0.1, then posts OTLP/HTTP protobuf exports of
GenAI chat spans (an app span and an LLM span with messages and usage each, the shape
openai-v2 sends) from ``--threads`` threads, as a BatchSpanProcessor would: ``--batch``
spans per request. Accepted is when the last 200 came back (what an exporter waits for);
stored is when ``/api/stats`` counts every span (what a user sees). A 429 is retried after
its ``Retry-After``, as exporters do, and counted.

Prints one table; the exit status is non-zero only when the benchmark itself broke.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

MESSAGES_IN = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "hi " * 40}]}])
MESSAGES_OUT = json.dumps(
    [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "ok " * 60}],
            "finish_reason": "stop",
        }
    ]
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _attr(key: str, value: str | int) -> KeyValue:
    any_value = (
        AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=value)
    )
    return KeyValue(key=key, value=any_value)


def export_body(pairs: int) -> bytes:
    """``pairs`` traces of an app span and its LLM span, as one export."""
    request = ExportTraceServiceRequest()
    resource = request.resource_spans.add()
    resource.resource.attributes.append(_attr("service.name", "bench"))
    spans = resource.scope_spans.add().spans
    now = time.time_ns()
    for _ in range(pairs):
        trace, root, llm = os.urandom(16), os.urandom(8), os.urandom(8)
        spans.add(
            trace_id=trace,
            span_id=root,
            name="handle",
            kind=2,
            start_time_unix_nano=now,
            end_time_unix_nano=now + 9_000_000,
        )
        span = spans.add(
            trace_id=trace,
            span_id=llm,
            parent_span_id=root,
            name="chat gpt-4o-mini",
            kind=Span.SPAN_KIND_CLIENT,
            start_time_unix_nano=now + 1_000_000,
            end_time_unix_nano=now + 8_000_000,
        )
        values: dict[str, str | int] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.id": "chatcmpl-" + os.urandom(8).hex(),
            "gen_ai.usage.input_tokens": 40,
            "gen_ai.usage.output_tokens": 60,
            "gen_ai.input.messages": MESSAGES_IN,
            "gen_ai.output.messages": MESSAGES_OUT,
        }
        span.attributes.extend(_attr(k, v) for k, v in values.items())
    return request.SerializeToString()


def post(url: str, body: bytes, retried: list[int]) -> None:
    while True:
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/x-protobuf"}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as resp:
                resp.read()
                return
        except urllib.error.HTTPError as exc:
            if exc.code != 429:
                raise
            retried.append(1)
            time.sleep(float(exc.headers.get("Retry-After", "1")))


def stored(base: str) -> int:
    with urllib.request.urlopen(base + "/api/stats?group_by=project", timeout=30) as resp:
        return int(json.loads(resp.read())["totals"]["calls"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spans", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    pairs = args.batch // 2
    requests = max(1, args.spans // (pairs * 2))
    bodies = [export_body(pairs) for _ in range(requests)]
    total = requests * pairs * 2
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        command = [
            *(sys.executable, "-m", "wiretrace_proxy.cli", "serve", "--port", str(port)),
            *("--db", str(db), "--upstream", "http://127.0.0.1:9", "--log-level", "warning"),
        ]
        server = subprocess.Popen(command)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            retried: list[int] = []
            queue = list(bodies)
            lock = threading.Lock()

            def work() -> None:
                while True:
                    with lock:
                        if not queue:
                            return
                        body = queue.pop()
                    post(base + "/otlp/v1/traces", body, retried)

            start = time.perf_counter()
            threads = [threading.Thread(target=work) for _ in range(args.threads)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            accepted = time.perf_counter() - start
            while stored(base) < total:
                time.sleep(0.5)  # polling a process's writer: nothing here to wait on
            done = time.perf_counter() - start
        finally:
            server.terminate()
            server.wait(30)
    print(
        f"{'spans':>8} {'batch':>6} {'threads':>7} {'accepted/s':>11} {'stored/s':>9} {'429s':>5}"
    )
    print(f"{total:>8} {args.batch:>6} {args.threads:>7} {total / accepted:>11.0f} "
          f"{total / done:>9.0f} {len(retried):>5}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
