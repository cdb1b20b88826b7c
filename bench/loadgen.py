"""The benchmark's load generator: a closed-loop aiohttp client in its own process.

It reads one JSON command per line on stdin and answers one JSON line on stdout, so the
driver (``bench_proxy.py``) can read the servers' CPU counters between a warm-up and the
measured run while this process keeps its warm connection pools. Commands:

``{"op": "run", "url": ..., "mode": "json"|"stream", "concurrency": C, "requests": N, ...}``
    N chat-completion calls with C workers in a closed loop (each sends its next call when
    the previous one has been read to the end), bounded by ``timeout_s``. Answers latency,
    throughput and, for streams, time to first chunk and per-chunk delay (receive time minus
    the ``created_ns`` stamp the fake upstream put in each chunk). With ``"hold": group``
    it opens N streams that the upstream holds after their first chunk; once all are open
    (or ``hold_wait_s`` passed) it prints ``{"event": "all_open", ...}`` and carries on
    when the upstream is released.
    With ``"raw": true`` the samples themselves come back too (to merge rounds).
``{"op": "quit"}``
    Close every pool and exit.
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

JSONDict = dict[str, Any]

_STAMP = b'"created_ns":'
_HEADERS = {
    "Authorization": "Bearer sk-bench-0123456789abcdefghijklmnopqrstuvwxyzABCD",
    "Content-Type": "application/json",
    "Accept": "application/json",
    "User-Agent": "wiretrace-bench/1.0",
}
_MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Write one sentence about a quick brown fox and a lazy dog."},
]


def request_body(stream: bool, include_usage: bool) -> bytes:
    """A realistic chat-completions request body."""
    body: JSONDict = {
        "model": "gpt-4o-mini",
        "messages": _MESSAGES,
        "temperature": 0.7,
        "max_tokens": 64,
    }
    if stream:
        body["stream"] = True
        if include_usage:
            body["stream_options"] = {"include_usage": True}
    return json.dumps(body).encode()


def summarize(values: list[float]) -> JSONDict:
    """Count, mean, p50/p90/p99 (nearest rank) and max of ``values``."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    n = len(ordered)

    def rank(p: float) -> float:
        return ordered[min(n - 1, max(0, math.ceil(p / 100 * n) - 1))]

    return {
        "n": n,
        "mean": sum(ordered) / n,
        "p50": rank(50),
        "p90": rank(90),
        "p99": rank(99),
        "max": ordered[-1],
    }


@dataclass
class Run:
    """One measured run's parameters and what it collected."""

    url: str
    stream: bool
    concurrency: int
    requests: int
    timeout_s: float
    body: bytes
    headers: dict[str, str]
    hold: str | None
    hold_wait_s: float
    ramp_s: float
    issued: int = 0
    completed: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    ttft_ms: list[float] = field(default_factory=list)
    chunk_delay_ms: list[float] = field(default_factory=list)
    open_now: int = 0
    peak_open: int = 0
    opened: int = 0
    all_open: asyncio.Event = field(default_factory=asyncio.Event)

    def error(self, message: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5 and message not in self.error_samples:
            self.error_samples.append(message)


class LoadGen:
    """Keeps one warm client session per (url, pool size) across commands."""

    def __init__(self) -> None:
        self.sessions: dict[tuple[str, int], aiohttp.ClientSession] = {}

    def session(self, url: str, size: int) -> aiohttp.ClientSession:
        key = (url, size)
        session = self.sessions.get(key)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(limit=size, limit_per_host=0)
            session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent",),
            )
            self.sessions[key] = session
        return session

    async def close(self) -> None:
        for session in self.sessions.values():
            await session.close()

    async def run(self, command: JSONDict) -> JSONDict:
        """Execute one ``run`` command and return its summary."""
        stream = command["mode"] == "stream"
        headers = dict(_HEADERS)
        if stream:
            headers["X-Bench-Chunks"] = str(command.get("chunks", 20))
            headers["X-Bench-Chunk-Delay-Ms"] = str(command.get("chunk_delay_ms", 0))
        hold = command.get("hold")
        if hold:
            headers["X-Bench-Hold"] = str(hold)
        run = Run(
            url=command["url"].rstrip("/") + "/v1/chat/completions",
            stream=stream,
            concurrency=int(command["concurrency"]),
            requests=int(command["requests"]),
            timeout_s=float(command.get("timeout_s", 60)),
            body=request_body(stream, bool(command.get("include_usage", True))),
            headers=headers,
            hold=str(hold) if hold else None,
            hold_wait_s=float(command.get("hold_wait_s", 60)),
            ramp_s=float(command.get("ramp_s", 0)),
        )
        session = self.session(command["url"], run.concurrency)
        deadline = time.perf_counter() + run.timeout_s
        start = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            if run.hold is not None:
                group.create_task(_announce_open(run))
            for index in range(run.concurrency):
                delay = run.ramp_s * index / run.concurrency
                group.create_task(_worker(run, session, deadline, delay))
        elapsed = time.perf_counter() - start
        result: JSONDict = {
            "ok": True,
            "issued": run.issued,
            "completed": run.completed,
            "errors": run.errors,
            "error_samples": run.error_samples,
            "elapsed_s": elapsed,
            "rps": run.completed / elapsed if elapsed > 0 else 0.0,
            "latency_ms": summarize(run.latency_ms),
            "ttft_ms": summarize(run.ttft_ms),
            "chunk_delay_ms": summarize(run.chunk_delay_ms),
            "peak_open": run.peak_open,
        }
        if command.get("raw"):
            result["raw"] = {
                "latency_ms": run.latency_ms,
                "ttft_ms": run.ttft_ms,
                "chunk_delay_ms": run.chunk_delay_ms,
            }
        return result


async def _announce_open(run: Run) -> None:
    """Print ``all_open`` once every held stream is open, or when the wait runs out."""
    try:
        await asyncio.wait_for(run.all_open.wait(), run.hold_wait_s)
    except TimeoutError:
        pass
    _emit({"event": "all_open", "open": run.open_now, "opened": run.opened})


async def _worker(run: Run, session: aiohttp.ClientSession, deadline: float, delay: float) -> None:
    if delay > 0:
        await asyncio.sleep(delay)
    while run.issued < run.requests and time.perf_counter() < deadline:
        run.issued += 1
        timeout = aiohttp.ClientTimeout(total=max(1.0, deadline - time.perf_counter() + 5))
        try:
            if run.stream:
                await _one_stream(run, session, timeout)
            else:
                await _one_call(run, session, timeout)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            run.error(f"{type(exc).__name__}: {exc}")


async def _one_call(
    run: Run, session: aiohttp.ClientSession, timeout: aiohttp.ClientTimeout
) -> None:
    t0 = time.perf_counter()
    async with session.post(run.url, data=run.body, headers=run.headers, timeout=timeout) as resp:
        body = await resp.read()
    elapsed = time.perf_counter() - t0
    if resp.status != 200 or not body.endswith(b"}"):
        run.error(f"HTTP {resp.status}: {body[:120]!r}")
        return
    run.latency_ms.append(elapsed * 1000)
    run.completed += 1


async def _one_stream(
    run: Run, session: aiohttp.ClientSession, timeout: aiohttp.ClientTimeout
) -> None:
    t0 = time.perf_counter()
    first: float | None = None
    done = False
    events = 0
    buffer = b""
    delays: list[float] = []
    is_open = False
    try:
        async with session.post(
            run.url, data=run.body, headers=run.headers, timeout=timeout
        ) as resp:
            if resp.status != 200:
                run.error(f"HTTP {resp.status}: {(await resp.read())[:120]!r}")
                return
            async for chunk in resp.content.iter_any():
                now_ns = time.time_ns()
                if first is None:
                    first = time.perf_counter()
                    is_open = True
                    _opened(run)
                buffer += chunk
                while True:
                    end = buffer.find(b"\n\n")
                    if end < 0:
                        break
                    event, buffer = buffer[:end], buffer[end + 2 :]
                    events += 1
                    if event == b"data: [DONE]":
                        done = True
                        continue
                    at = event.find(_STAMP)
                    if at >= 0 and events > 1:
                        stop = event.find(b",", at)
                        sent_ns = int(event[at + len(_STAMP) : stop])
                        delays.append((now_ns - sent_ns) / 1e6)
    finally:
        if is_open:
            run.open_now -= 1
    elapsed = time.perf_counter() - t0
    if not done or first is None:
        run.error(f"stream incomplete after {events} events")
        return
    run.latency_ms.append(elapsed * 1000)
    run.ttft_ms.append((first - t0) * 1000)
    run.chunk_delay_ms.extend(delays)
    run.completed += 1


def _opened(run: Run) -> None:
    run.open_now += 1
    run.opened += 1
    run.peak_open = max(run.peak_open, run.open_now)
    if run.opened >= run.requests:
        run.all_open.set()


def _emit(message: JSONDict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def main() -> None:
    """Serve commands from stdin until ``quit`` or end of input."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    loadgen = LoadGen()
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            command = json.loads(line)
            if command.get("op") == "quit":
                break
            try:
                result = await loadgen.run(command)
            except Exception as exc:  # noqa: BLE001 - reported to the driver, which stops
                result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            _emit(result)
    finally:
        await loadgen.close()


if __name__ == "__main__":
    asyncio.run(main())
