"""Benchmark: what an OTLP exporter with a slow backend adds to the proxy's latency.

Run: ``.venv/bin/python bench/bench_otlp_export.py [--calls 2000] [--concurrency 16]``.
It starts the fake upstream (``upstream_server.py``) and two real ``wiretrace serve``
processes on 127.0.0.1 (temporary SQLite files): one with no export, one exporting to a
receiver in this process that answers every export after ``--receiver-delay`` seconds
(a slow backend: the exporter's thread waits on it while the calls go on). Non-streamed
calls run in a closed loop at ``--concurrency``, in rounds interleaved across the two
servers; the table gives latency p50/p99 for each and the difference. The exporter's
figures (sent, dropped, retries) come from ``/healthz``. Expect the difference to be noise:
the exporter is fed after records are stored, on threads of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_eval import free_port, start_upstream  # noqa: E402

BODY = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
HEADERS = {"Authorization": "Bearer sk-bench-0000000000000000", "Content-Type": "application/json"}


def start_receiver(delay: float) -> str:
    """A slow OTLP receiver on 127.0.0.1, in a thread of this process; its traces URL."""

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(delay)
        return web.Response(content_type="application/x-protobuf")

    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_post("/v1/traces", handle)
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    port = free_port()
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    threading.Thread(target=loop.run_forever, daemon=True).start()
    return f"http://127.0.0.1:{port}/v1/traces"


def start_server(upstream: str, db: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cli = Path(sys.executable).with_name("wiretrace")
    proc = subprocess.Popen(
        [str(cli), "serve", "--port", str(port), "--upstream", upstream, *extra],
        env={**os.environ, "WIRETRACE_DB": f"sqlite:///{db}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("wiretrace serve did not become ready")


async def closed_loop(url: str, calls: int, concurrency: int) -> list[float]:
    """Latencies (seconds) of ``calls`` chat completions, ``concurrency`` at a time."""
    latencies: list[float] = []
    left = calls
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                started = time.perf_counter()
                async with session.post(
                    url + "/v1/chat/completions", data=BODY, headers=HEADERS
                ) as r:
                    await r.read()
                    assert r.status == 200, r.status
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] * 1000


def health(url: str) -> Any:
    with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
        return json.load(response)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--receiver-delay", type=float, default=2.0)
    args = parser.parse_args()
    receiver = start_receiver(args.receiver_delay)
    upstream, upstream_url = start_upstream()
    samples: dict[str, list[float]] = {"no export": [], "export, slow backend": []}
    with tempfile.TemporaryDirectory() as tmp:
        plain, plain_url = start_server(upstream_url, Path(tmp) / "a.db")
        exporting, export_url = start_server(
            upstream_url, Path(tmp) / "b.db", "--otlp-export", receiver
        )
        try:
            urls = {"no export": plain_url, "export, slow backend": export_url}
            for url in urls.values():  # warm-up
                asyncio.run(closed_loop(url, 200, args.concurrency))
            for _ in range(args.rounds):
                for name, url in urls.items():
                    samples[name] += asyncio.run(closed_loop(url, args.calls, args.concurrency))
            exported = health(export_url)["otlp_export"]
        finally:
            for proc in (plain, exporting, upstream):
                proc.terminate()
                proc.wait(30)
    print(
        f"{args.rounds} x {args.calls} calls per server, concurrency {args.concurrency}, "
        f"receiver answering after {args.receiver_delay} s"
    )
    for name, values in samples.items():
        print(
            f"{name:22} p50 {percentile(values, 50):7.2f} ms   p99 {percentile(values, 99):7.2f} ms"
            f"   mean {statistics.fmean(values) * 1000:7.2f} ms"
        )
    base, slow = samples["no export"], samples["export, slow backend"]
    print(
        f"{'added by the exporter':22} p50 {percentile(slow, 50) - percentile(base, 50):+7.2f} ms"
        f"   p99 {percentile(slow, 99) - percentile(base, 99):+7.2f} ms"
    )
    print(f"exporter at the end: {exported}")


if __name__ == "__main__":
    main()
