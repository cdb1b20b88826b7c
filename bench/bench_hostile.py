"""Hostile-input benchmark: what big bodies and huge stream events cost the proxy.

Two measurements, each against a direct call to the same upstream in the same run:

* **RSS**: four 60 MB JSON chat bodies sent at once through the proxy; the proxy
  process's peak resident memory above its idle level, as a multiple of the bytes in flight
  (the request path should cost well under 1.5x what it carries, recording included).
* **Relay**: one 20 MB SSE event (a chat chunk the proxy has to filter, because it added
  ``include_usage``): time to read the whole stream through the proxy / directly, and the
  median latency of small calls made while it streams (a stalled loop shows there).

Both servers run as subprocesses (``wiretrace serve`` with an in-memory database, and the
upstream in this file, ``--role upstream``). ``--proxy-src DIR`` runs the proxy from
another checkout's ``proxy/`` folder (e.g. ``git archive HEAD~1 proxy | tar -x -C DIR``)
to compare before and after.

Run: ``python bench/bench_hostile.py [--body-mb 60] [--bodies 4] [--event-mb 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from aiohttp import web

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[1]
MB = 1_000_000


# The upstream: reads and discards bodies; streams one huge event when asked.


async def _chat(request: web.Request) -> web.StreamResponse:
    size = 0
    head = b""
    async for chunk in request.content.iter_chunked(1 << 16):
        size += len(chunk)
        head = head or chunk[:4096]
    event_mb = float(request.headers.get("x-bench-event-mb", "0"))
    if not event_mb:
        return web.json_response({"received": size})
    base = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    deltas = [{"role": "assistant", "content": ""}, {"content": "x" * int(event_mb * MB)}, {}]
    chunks: list[dict[str, Any]] = [
        {**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}], "usage": None}
        for d in deltas
    ]
    if b'"include_usage":true' in head:
        usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        chunks.append({**base, "choices": [], "usage": usage})
    events = [f"data: {json.dumps(c, separators=(',', ':'))}\n\n" for c in chunks]
    events.append("data: [DONE]\n\n")
    stream = "".join(events).encode()
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for i in range(0, len(stream), 1 << 16):  # as a fast upstream sends it: 64 KiB writes
        await response.write(stream[i : i + (1 << 16)])
    await response.write_eof()
    return response


def run_upstream(port: int) -> None:
    app = web.Application(client_max_size=1 << 30)
    app.router.add_post("/v1/chat/completions", _chat)
    print(f"READY {port}", flush=True)
    web.run_app(app, host=HOST, port=port, print=None, access_log=None)


# The benchmark.


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


async def wait_port(port: int, proc: subprocess.Popen[bytes], deadline: float = 60) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            _, writer = await asyncio.open_connection(HOST, port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise SystemExit(f"port {port} not ready")


async def sample_peak(pid: int, stop: asyncio.Event) -> int:
    proc = psutil.Process(pid)
    peak = 0
    while not stop.is_set():
        peak = max(peak, proc.memory_info().rss)
        await asyncio.sleep(0.005)
    return max(peak, proc.memory_info().rss)


def chat_body(size: int) -> bytes:
    head = b'{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"'
    tail = b'"}]}'
    return head + b"lorem ipsum " * ((size - len(head) - len(tail)) // 12) + tail


async def settle(pid: int, seconds: float = 1.0) -> int:
    """RSS once it stops falling (the writer finished recording what came before)."""
    proc = psutil.Process(pid)
    last = proc.memory_info().rss
    for _ in range(60):
        await asyncio.sleep(seconds)
        now = proc.memory_info().rss
        if abs(now - last) < 2 * 1024 * 1024:
            return now
        last = now
    return last


async def rss_round(
    http: aiohttp.ClientSession, url: str, pid: int, body: bytes, n: int
) -> dict[str, Any]:
    base = await settle(pid)
    stop = asyncio.Event()
    headers = {"Content-Type": "application/json"}

    async def one() -> int:
        async with http.post(url + "/v1/chat/completions", data=body, headers=headers) as r:
            await r.read()
            return r.status

    async def calls() -> list[int]:
        statuses = await asyncio.gather(*(one() for _ in range(n)))
        await asyncio.sleep(3)  # the writer records the calls: count its memory too
        stop.set()
        return statuses

    statuses, peak = await asyncio.gather(calls(), sample_peak(pid, stop))
    extra = peak - base
    return {
        "statuses": sorted(set(statuses)),
        "idle_rss_mb": round(base / MB, 1),
        "peak_rss_mb": round(peak / MB, 1),
        "extra_rss_mb": round(extra / MB, 1),
        "extra_per_body_byte": round(extra / (n * len(body)), 2),
    }


async def relay_round(http: aiohttp.ClientSession, url: str, event_mb: float) -> dict[str, Any]:
    body = chat_body(200)
    headers = {"Content-Type": "application/json", "x-bench-event-mb": str(event_mb)}
    small_latencies: list[float] = []
    done = asyncio.Event()

    async def small_calls() -> None:
        while not done.is_set():
            t = time.perf_counter()
            async with http.post(
                url + "/v1/chat/completions",
                data=b'{"model":"m"}',
                headers={"Content-Type": "application/json"},
            ) as r:
                await r.read()
            small_latencies.append(time.perf_counter() - t)
            await asyncio.sleep(0.01)

    async def big() -> tuple[bytes, float]:
        t = time.perf_counter()
        async with http.post(url + "/v1/chat/completions", data=body, headers=headers) as r:
            got = await r.read()
        elapsed = time.perf_counter() - t
        done.set()
        return got, elapsed

    (got, elapsed), _ = await asyncio.gather(big(), small_calls())
    return {
        "seconds": round(elapsed, 3),
        "bytes": len(got),
        "usage_chunk_reached_client": b'"choices":[],"usage"' in got,
        "small_call_median_ms": round(statistics.median(small_latencies) * 1000, 1)
        if small_latencies
        else None,
    }


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    up_port, px_port = free_port(), free_port()
    upstream = subprocess.Popen(
        [sys.executable, __file__, "--role", "upstream", "--port", str(up_port)],
        stdout=subprocess.DEVNULL,
    )
    env = dict(os.environ)
    offline = ROOT / "tests" / "fixtures" / "tiktoken"  # tokenizers without the network
    if offline.is_dir():
        env.setdefault("TIKTOKEN_CACHE_DIR", str(offline))
    if args.proxy_src:
        env["PYTHONPATH"] = str(Path(args.proxy_src).resolve() / "proxy")
    proxy = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wiretrace_proxy.cli",
            "serve",
            "--port",
            str(px_port),
            "--upstream",
            f"http://{HOST}:{up_port}",
            "--db",
            ":memory:",
            "--key-salt",
            "bench",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        env=env,
        cwd=str(ROOT),
    )
    try:
        await wait_port(up_port, upstream)
        await wait_port(px_port, proxy)
        direct, proxied = f"http://{HOST}:{up_port}", f"http://{HOST}:{px_port}"
        timeout = aiohttp.ClientTimeout(total=600)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            await relay_round(http, proxied, 0.1)  # warm both paths
            body = chat_body(int(args.body_mb * MB))
            rss = await rss_round(http, proxied, proxy.pid, body, args.bodies)
            relays: dict[str, list[dict[str, Any]]] = {"direct": [], "proxied": []}
            for _ in range(args.repeat):
                relays["direct"].append(await relay_round(http, direct, args.event_mb))
                relays["proxied"].append(await relay_round(http, proxied, args.event_mb))
        d = statistics.median(r["seconds"] for r in relays["direct"])
        p = statistics.median(r["seconds"] for r in relays["proxied"])
        return {
            "proxy_src": args.proxy_src or "this checkout",
            "rss": {"bodies": args.bodies, "body_mb": args.body_mb, **rss},
            "relay": {
                "event_mb": args.event_mb,
                "direct_s": d,
                "proxied_s": p,
                "ratio": round(p / d, 2),
                "runs": relays,
            },
        }
    finally:
        for proc in (proxy, upstream):
            proc.send_signal(signal.SIGTERM)
        for proc in (proxy, upstream):
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", choices=["bench", "upstream"], default="bench")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--body-mb", type=float, default=60)
    parser.add_argument("--bodies", type=int, default=4)
    parser.add_argument("--event-mb", type=float, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--proxy-src", help="a checkout whose proxy/ to run instead")
    args = parser.parse_args()
    if args.role == "upstream":
        run_upstream(args.port)
        return
    print(json.dumps(asyncio.run(bench(args)), indent=2))


if __name__ == "__main__":
    main()
