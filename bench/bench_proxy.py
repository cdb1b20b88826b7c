"""``make bench``: direct vs a bare pass-through vs wiretrace, to the same fake upstream.

Every server runs in its own process on 127.0.0.1 so its CPU can be read from ``/proc``:
the fake upstream (``upstream_server.py``), the pass-through (``passthrough.py``), the real
``wiretrace serve`` (recording on, a temporary SQLite file) and the load generator
(``loadgen.py``, closed loop). Phases, each warmed up first and run per path in turn:

1. non-streamed chat completions at each concurrency (default 16 and 64);
2. streams of N chunks a few ms apart: time to first chunk, per-chunk delay, CPU per stream;
3. many streams held open at once (default 1,000): the proxies' RSS.

Prints one table with the proxy's overhead targets (PASS/MISS; listed in ``bench/README.md``)
and writes the figures to ``bench/results/<timestamp>.json``. A missed target is a finding,
not a failure: the exit status is non-zero only when the benchmark itself broke (a server or
the load generator did not start or crashed, or a phase completed nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import platform
import resource
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import aiohttp
from loadgen import summarize

JSONDict = dict[str, Any]

HOST = "127.0.0.1"
BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
PYTHON = sys.executable
PAGE = os.sysconf("SC_PAGE_SIZE")
CLK_TCK = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024

DIRECT, PASS, WIRE = "direct", "pass-through", "wiretrace"
TARGET_CPU_RATIO = 1.3
"""Whole CPU per request and per stream (every process wiretrace runs) / the pass-through's."""
TARGET_ADDED_P50_MS = 1.0
TARGET_ADDED_P99_MS = 5.0
TARGET_C64_P99_VS_PASS_MS = 5.0
"""Latency p99 at concurrency 64: wiretrace's at most the pass-through's plus this."""
TARGET_C64_THROUGHPUT_RATIO = 0.8
"""Calls/s at concurrency 64: wiretrace's at least this share of the pass-through's."""
TARGET_CHUNK_P99_VS_PASS_MS = 0.5
"""Per-chunk added delay p99: wiretrace's at most the pass-through's plus this."""
TARGET_RSS_MIB = 150.0


class BenchError(Exception):
    """The benchmark itself broke (as opposed to a target being missed)."""


# --- processes and /proc -------------------------------------------------------------


@dataclass(frozen=True)
class Cpu:
    """CPU seconds of a process: all threads, and its main (event-loop) thread alone."""

    total: float
    main: float

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(self.total - other.total, self.main - other.main)


def _process_clock(pid: int) -> int:
    """The kernel's CPU-time clock of another process, all threads (clock_getcpuclockid)."""
    return ((~pid) << 3) | 2  # CPUCLOCK_SCHED, process-wide


def read_cpu(pid: int) -> Cpu:
    """CPU seconds of the whole process and every process it started that still runs (every
    thread, exited ones included: a writer process counts) and of its main thread
    (``schedstat``: nanoseconds on CPU); both exact, unlike 10 ms ticks."""
    total = sum(_clock_ns(p) for p in _with_descendants(pid)) / 1e9
    main = int(Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()[0]) / 1e9
    return Cpu(total, main)


def _clock_ns(pid: int) -> int:
    try:
        return time.clock_gettime_ns(_process_clock(pid))
    except OSError:  # a child that exited since it was listed
        return 0


def _with_descendants(pid: int) -> list[int]:
    """``pid`` and the processes below it (``/proc/<pid>/task/*/children``)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo.extend(int(c) for c in (task / "children").read_text().split())
    return found


def read_machine() -> tuple[float, float]:
    """Whole-machine CPU seconds (user+nice+system, all cores) and steal, from /proc/stat."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system = (int(v) for v in fields[:3])
    steal = int(fields[7]) if len(fields) > 7 else 0
    return (user + nice + system) / CLK_TCK, steal / CLK_TCK


def read_rss(pid: int) -> int:
    """Resident set size in bytes, of the process and the processes it started."""
    total = 0
    for p in _with_descendants(pid):
        with contextlib.suppress(OSError):
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * PAGE
    return total


def _die_with_parent() -> None:
    """In a child before exec: SIGTERM it if the benchmark dies (no stray servers)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """A server process under test (or the fake upstream)."""

    name: str
    port: int
    proc: asyncio.subprocess.Process
    log: Path
    url: str = field(init=False)

    def __post_init__(self) -> None:
        self.url = f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


async def spawn(
    argv: list[str], log: Path, env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    """Start ``argv`` in its own session, stdout and stderr to ``log``."""
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=str(ROOT),
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )


async def wait_ready(
    server: Server, http: aiohttp.ClientSession, path: str | None, deadline_s: float
) -> None:
    """Until the port accepts (or ``path`` answers 200); fail if the process exits first."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if server.proc.returncode is not None:
            raise BenchError(
                f"{server.name} exited with {server.proc.returncode}:\n{server.log_tail()}"
            )
        try:
            if path is None:
                _, writer = await asyncio.open_connection(HOST, server.port)
                writer.close()
                await writer.wait_closed()
                return
            async with http.get(server.url + path) as resp:
                if resp.status == 200:
                    return
        except (OSError, aiohttp.ClientError):
            pass
        await asyncio.sleep(0.1)
    raise BenchError(f"{server.name} not ready after {deadline_s:.0f} s:\n{server.log_tail()}")


async def stop(server: Server, timeout: float = 30.0) -> int | None:
    """SIGTERM, wait (wiretrace drains and flushes), SIGKILL if it hangs; the exit code."""
    if server.proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            server.proc.terminate()
        try:
            await asyncio.wait_for(server.proc.wait(), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                server.proc.kill()
            await server.proc.wait()
            return None
    return server.proc.returncode


# --- the load generator --------------------------------------------------------------


class LoadGen:
    """Drives ``loadgen.py`` over its stdin/stdout JSON-lines protocol."""

    def __init__(self, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.proc = proc
        self.log = log

    @classmethod
    async def start(cls, workdir: Path) -> LoadGen:
        log = workdir / "loadgen.log"
        with log.open("wb") as err:
            proc = await asyncio.create_subprocess_exec(
                PYTHON,
                str(BENCH / "loadgen.py"),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                cwd=str(ROOT),
                limit=16 * MIB,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        return cls(proc, log)

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def run(
        self,
        command: JSONDict,
        on_event: Callable[[JSONDict], Awaitable[None]] | None = None,
    ) -> JSONDict:
        """Send one ``run`` command; relay interim events; return the result."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"op": "run", **command}).encode() + b"\n")
        await self.proc.stdin.drain()
        limit = float(command.get("timeout_s", 60)) + float(command.get("hold_wait_s", 0)) + 60
        deadline = time.monotonic() + limit
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = await asyncio.wait_for(self.proc.stdout.readline(), max(0.1, remaining))
            except TimeoutError:
                raise BenchError(f"load generator gave no answer within {limit:.0f} s") from None
            if not line:
                tail = self.log.read_text(errors="replace")[-2000:]
                raise BenchError(f"load generator exited:\n{tail}")
            message: JSONDict = json.loads(line)
            if "event" in message:
                if on_event is not None:
                    await on_event(message)
                continue
            if not message.get("ok"):
                raise BenchError(f"load generator failed: {message.get('error')}")
            return message

    async def quit(self) -> None:
        if self.proc.returncode is None and self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.write(b'{"op": "quit"}\n')
                await self.proc.stdin.drain()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


# --- the benchmark -------------------------------------------------------------------


@dataclass
class Options:
    requests: int
    concurrency: list[int]
    streams: int
    stream_requests: int
    stream_concurrency: int
    chunks: int
    chunk_delay_ms: float
    include_usage: bool
    paths: list[str]
    phase_timeout: float
    rounds: int
    keep: bool
    profile: bool
    wiretrace_cmd: str | None
    out: Path | None

    @property
    def warmup(self) -> int:
        return max(200, self.requests // 10)


@dataclass
class Bench:
    """Everything one run starts, measures and reports."""

    opts: Options
    workdir: Path
    http: aiohttp.ClientSession
    loadgen: LoadGen
    upstream: Server
    servers: dict[str, Server]
    db_path: Path
    results: JSONDict = field(default_factory=dict)
    wiretrace_calls: int = 0

    def target(self, path: str) -> str:
        return self.upstream.url if path == DIRECT else self.servers[path].url

    async def healthz(self) -> JSONDict:
        async with self.http.get(self.servers[WIRE].url + "/healthz") as resp:
            body: JSONDict = await resp.json()
            return body

    async def wait_flushed(self, deadline_s: float = 30.0) -> JSONDict | None:
        """Until wiretrace accounted for every call made to it (written, dropped or lost)."""
        if WIRE not in self.servers:
            return None
        deadline = time.monotonic() + deadline_s
        health: JSONDict = {}
        while time.monotonic() < deadline:
            health = await self.healthz()
            handled = int(health.get("written", 0))
            handled += int(health.get("dropped", 0)) + int(health.get("lost", 0))
            if handled >= self.wiretrace_calls and not health.get("pending"):
                return health
            await asyncio.sleep(0.05)
        health["flush_deadline_passed"] = True
        return health

    async def measure(
        self,
        path: str,
        command: JSONDict,
        on_event: Callable[[JSONDict], Awaitable[None]] | None = None,
    ) -> JSONDict:
        """One measured run with CPU deltas of every process involved."""
        await self.wait_flushed()
        server = self.servers.get(path)
        pids = {"upstream": self.upstream.pid, "loadgen": self.loadgen.pid}
        if server is not None:
            pids["proxy"] = server.pid
        before = {name: read_cpu(pid) for name, pid in pids.items()}
        machine0, own0, wall0 = read_machine(), time.process_time(), time.monotonic()
        result = await self.loadgen.run({"url": self.target(path), **command}, on_event)
        self._count(path, result)
        if path == WIRE:
            result["health_after_flush"] = await self.wait_flushed()
        after = {name: read_cpu(pid) for name, pid in pids.items()}
        machine1, own1, wall1 = read_machine(), time.process_time(), time.monotonic()
        done = max(1, result["completed"])
        cpu: JSONDict = {}
        ours = own1 - own0
        for name in pids:
            delta = after[name] - before[name]
            ours += delta.total
            cpu[name] = {
                "seconds": delta.total,
                "main_thread_seconds": delta.main,
                "us_per_call": delta.total / done * 1e6,
                "main_thread_us_per_call": delta.main / done * 1e6,
            }
        result["cpu"] = cpu
        wall = max(1e-9, wall1 - wall0)
        busy = machine1[0] - machine0[0]
        result["machine"] = {
            "wall_s": wall,
            "busy_cores": busy / wall,
            "bench_cores": ours / wall,
            "other_cores": max(0.0, busy - ours) / wall,
            "steal_cores": (machine1[1] - machine0[1]) / wall,
        }
        if result["completed"] == 0:
            raise BenchError(f"{path}: no call completed: {result['error_samples']}")
        return result

    async def warm(self, path: str, command: JSONDict) -> None:
        result = await self.loadgen.run({"url": self.target(path), **command})
        self._count(path, result)
        if result["completed"] == 0:
            raise BenchError(f"{path}: warm-up completed nothing: {result['error_samples']}")

    def _count(self, path: str, result: JSONDict) -> None:
        if path == WIRE:
            self.wiretrace_calls += int(result["issued"])

    def _stream_command(self, requests: int, concurrency: int) -> JSONDict:
        return {
            "mode": "stream",
            "requests": requests,
            "concurrency": concurrency,
            "chunks": self.opts.chunks,
            "chunk_delay_ms": self.opts.chunk_delay_ms,
            "include_usage": self.opts.include_usage,
            "timeout_s": self.opts.phase_timeout,
        }

    async def rounds(self, label: str, warm: JSONDict, command: JSONDict) -> JSONDict:
        """Warm every path, then ``rounds`` measured runs interleaved across the paths (so
        background noise falls on all of them alike); each path's rounds merged."""
        for path in self.opts.paths:
            _progress(f"{label}: warm-up {path}")
            await self.warm(path, warm)
        per_path: dict[str, list[JSONDict]] = {path: [] for path in self.opts.paths}
        count = max(1, int(command["requests"]) // self.opts.rounds)
        for index in range(self.opts.rounds):
            for path in self.opts.paths:
                _progress(f"{label}: round {index + 1}/{self.opts.rounds} {path}")
                result = await self.measure(path, {**command, "requests": count, "raw": True})
                per_path[path].append(result)
        return {path: merge_rounds(results) for path, results in per_path.items()}

    async def non_streamed(self) -> None:
        out: JSONDict = {}
        for concurrency in self.opts.concurrency:
            base = {"mode": "json", "concurrency": concurrency}
            out[str(concurrency)] = await self.rounds(
                f"non-streamed c={concurrency}",
                {**base, "requests": self.opts.warmup},
                {**base, "requests": self.opts.requests, "timeout_s": self.opts.phase_timeout},
            )
        self.results["non_streamed"] = out

    async def streamed(self) -> None:
        concurrency = self.opts.stream_concurrency
        self.results["streamed"] = await self.rounds(
            f"streams c={concurrency}",
            self._stream_command(max(50, concurrency * 3), concurrency),
            self._stream_command(self.opts.stream_requests, concurrency),
        )

    async def held_streams(self) -> None:
        """Hold ``streams`` streams open at once through each proxy; sample its RSS."""
        out: JSONDict = {}
        for path in [p for p in self.opts.paths if p != DIRECT]:
            _progress(f"{self.opts.streams} concurrent streams {path}")
            out[path] = await self._hold(path, self.opts.streams)
        self.results["held_streams"] = out

    async def _hold(self, path: str, count: int) -> JSONDict:
        server = self.servers[path]
        idle = read_rss(server.pid)
        group = f"hold-{path}-{time.monotonic_ns()}"
        samples: list[int] = []
        at_open: JSONDict = {}

        async def all_open(event: JSONDict) -> None:
            at_open.update(event, rss=read_rss(server.pid))
            async with self.http.post(f"{self.upstream.url}/bench/release?group={group}"):
                pass

        command = self._stream_command(count, count)
        command.update(hold=group, hold_wait_s=60, ramp_s=min(2.0, count / 500))
        async with _sampling(server.pid, samples):
            result = await self.measure(path, command, all_open)
        await self.wait_flushed()
        result["rss"] = {
            "before": idle,
            "all_open": at_open.get("rss"),
            "peak": max([*samples, at_open.get("rss") or 0]),
            "after": read_rss(server.pid),
            "open_at_sample": at_open.get("open"),
        }
        return result

    async def profile(self, stamp: str) -> None:
        """An extra, unreported-in-the-table run of wiretrace under py-spy (``--profile``)."""
        if WIRE not in self.servers:
            return
        spy = shutil.which("py-spy") or str(Path(PYTHON).parent / "py-spy")
        if not Path(spy).exists():
            self.results["profile"] = {"error": "py-spy not installed (pip install py-spy)"}
            return
        out: JSONDict = {}
        for mode in ("json", "stream"):
            _progress(f"profiling wiretrace ({mode}) with py-spy")
            raw = RESULTS / f"{stamp}-wiretrace-{mode}.pyspy.txt"
            raw.parent.mkdir(parents=True, exist_ok=True)
            argv = [spy, "record", "--pid", str(self.servers[WIRE].pid), "--rate", "500"]
            argv += ["--format", "raw", "--threads", "--nonblocking", "--output", str(raw)]
            spy_proc = await spawn(argv, self.workdir / "py-spy.log")
            await asyncio.sleep(1.0)
            if mode == "json":
                command: JSONDict = {"mode": "json", "concurrency": 16}
                command.update(requests=self.opts.requests, timeout_s=self.opts.phase_timeout)
            else:
                command = self._stream_command(self.opts.stream_requests, 16)
            result = await self.measure(WIRE, command)
            spy_proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(spy_proc.wait(), 30)
            except TimeoutError:
                spy_proc.kill()
            out[mode] = {"file": str(raw), "calls": result["completed"], **summarize_pyspy(raw)}
        self.results["profile"] = out

    async def recording_check(self) -> None:
        if WIRE not in self.servers:
            return
        health = await self.wait_flushed(deadline_s=60)
        rows = count_rows(self.db_path)
        self.results["recording"] = {
            "calls_made": self.wiretrace_calls,
            "healthz": health,
            "rows": rows,
        }


def merge_rounds(rounds: list[JSONDict]) -> JSONDict:
    """One path's measured rounds as one result: counts and CPU summed, samples pooled."""
    merged: JSONDict = {
        key: sum(r[key] for r in rounds) for key in ("issued", "completed", "errors", "elapsed_s")
    }
    samples = [s for r in rounds for s in r["error_samples"]]
    merged["error_samples"] = list(dict.fromkeys(samples))[:5]
    merged["rps"] = merged["completed"] / merged["elapsed_s"] if merged["elapsed_s"] else 0.0
    for key in ("latency_ms", "ttft_ms", "chunk_delay_ms"):
        merged[key] = summarize([v for r in rounds for v in r["raw"][key]])
    merged["peak_open"] = max(r["peak_open"] for r in rounds)
    done = max(1, merged["completed"])
    cpu: JSONDict = {}
    for name in rounds[0]["cpu"]:
        total = sum(r["cpu"][name]["seconds"] for r in rounds)
        main = sum(r["cpu"][name]["main_thread_seconds"] for r in rounds)
        cpu[name] = {
            "seconds": total,
            "main_thread_seconds": main,
            "us_per_call": total / done * 1e6,
            "main_thread_us_per_call": main / done * 1e6,
        }
    merged["cpu"] = cpu
    wall = sum(r["machine"]["wall_s"] for r in rounds)
    merged["machine"] = {"wall_s": wall} | {
        key: sum(r["machine"][key] * r["machine"]["wall_s"] for r in rounds) / max(wall, 1e-9)
        for key in ("busy_cores", "bench_cores", "other_cores", "steal_cores")
    }
    merged["rounds"] = [
        {
            "rps": r["rps"],
            "latency_ms": r["latency_ms"],
            "chunk_delay_ms": r["chunk_delay_ms"],
            "proxy_cpu_us_per_call": _get(r, "cpu", "proxy", "us_per_call"),
            "other_cores": r["machine"]["other_cores"],
        }
        for r in rounds
    ]
    if "health_after_flush" in rounds[-1]:
        merged["health_after_flush"] = rounds[-1]["health_after_flush"]
    return merged


@contextlib.asynccontextmanager
async def _sampling(pid: int, samples: list[int], every: float = 0.05) -> AsyncIterator[None]:
    """Sample the RSS of ``pid`` into ``samples`` while the block runs."""
    done = asyncio.Event()

    async def loop() -> None:
        while not done.is_set():
            with contextlib.suppress(OSError):
                samples.append(read_rss(pid))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), every)

    async with asyncio.TaskGroup() as group:
        group.create_task(loop())
        try:
            yield
        finally:
            done.set()


def count_rows(db_path: Path) -> int | None:
    """Rows in the ``calls`` table (read-only; WAL lets us read while wiretrace writes)."""
    if not db_path.exists():
        return None
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
        row = conn.execute("SELECT count(*) FROM calls").fetchone()
        return int(row[0])


def _frame_name(frame: str) -> str:
    """``handle (wiretrace_proxy/forward.py:57)`` -> ``wiretrace_proxy/forward.py:handle``."""
    name, _, where = frame.partition(" (")
    file = where.rsplit(":", 1)[0].rstrip(")")
    return f"{file}:{name}" if file else name


def summarize_pyspy(raw: Path, top: int = 15) -> JSONDict:
    """Samples per thread, and the functions with most self / inclusive samples."""
    threads: dict[str, int] = {}
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    try:
        lines = raw.read_text(errors="replace").splitlines()
    except OSError as exc:
        return {"error": str(exc)}
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = frames[0] if frames[0].startswith(("thread", "process")) else "?"
        frames = [f for f in frames if not f.startswith(("thread", "process"))]
        if not frames:
            continue
        total += count
        threads[thread] = threads.get(thread, 0) + count
        own[_frame_name(frames[-1])] = own.get(_frame_name(frames[-1]), 0) + count
        for name in {_frame_name(f) for f in frames}:
            inclusive[name] = inclusive.get(name, 0) + count

    def ranked(table: dict[str, int]) -> list[tuple[str, float]]:
        best = sorted(table.items(), key=lambda kv: -kv[1])[:top]
        return [(name, round(100 * n / max(1, total), 1)) for name, n in best]

    return {
        "samples": total,
        "threads_pct": ranked(threads),
        "self_pct": ranked(own),
        "inclusive_pct": ranked(inclusive),
        "inclusive_wiretrace_pct": ranked(
            {k: v for k, v in inclusive.items() if "wiretrace_proxy" in k}
        ),
    }


def _progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


# --- start-up -----------------------------------------------------------------------


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _wiretrace_env() -> dict[str, str]:
    env = dict(os.environ)
    if "TIKTOKEN_CACHE_DIR" not in env:  # the tests' copy of the tokenizer files: no download
        env["TIKTOKEN_CACHE_DIR"] = str(ROOT / "tests" / "fixtures" / "tiktoken")
    return env


def _wiretrace_argv(command: str | None, port: int, upstream: str, db: Path) -> list[str]:
    """``wiretrace serve ...`` (or ``command`` followed by the serve arguments)."""
    if command:
        head = shlex.split(command)
    else:
        exe = Path(PYTHON).parent / "wiretrace"
        head = [str(exe)] if exe.exists() else [PYTHON, "-m", "wiretrace_proxy.cli"]
    serve = ["serve", "--host", HOST, "--port", str(port), "--upstream", upstream]
    return [*head, *serve, "--db", str(db)]


async def start_servers(
    opts: Options, workdir: Path, http: aiohttp.ClientSession
) -> tuple[Server, dict[str, Server], Path]:
    port = free_port()
    argv = [PYTHON, str(BENCH / "upstream_server.py"), "--port", str(port)]
    log = workdir / "upstream.log"
    upstream = Server("upstream", port, await spawn(argv, log), log)
    await wait_ready(upstream, http, None, 20)
    servers: dict[str, Server] = {}
    if PASS in opts.paths:
        port = free_port()
        argv = [PYTHON, str(BENCH / "passthrough.py"), "--upstream", upstream.url]
        log = workdir / "passthrough.log"
        server = Server(PASS, port, await spawn([*argv, "--port", str(port)], log), log)
        await wait_ready(server, http, None, 20)
        servers[PASS] = server
    db = workdir / "wiretrace-bench.db"
    if WIRE in opts.paths:
        port = free_port()
        log = workdir / "wiretrace.log"
        argv = _wiretrace_argv(opts.wiretrace_cmd, port, upstream.url, db)
        proc = await spawn(argv, log, env=_wiretrace_env())
        server = Server(WIRE, port, proc, log)
        servers[WIRE] = server
        await wait_ready(server, http, "/healthz", 60)
    await asyncio.sleep(0.5)  # let start-up settle before the idle RSS reading
    return upstream, servers, db


# --- report -------------------------------------------------------------------------


def _verdict(ok: bool | None) -> str:
    return "  n/a" if ok is None else (" PASS" if ok else " MISS")


def _f(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / MIB:.1f}"


def _get(d: JSONDict, *keys: str) -> Any:
    for key in keys:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def _runs(phase: JSONDict) -> list[JSONDict]:
    """The per-path run dicts of a phase (non-streamed phases nest by concurrency)."""
    found: list[JSONDict] = []
    for value in phase.values():
        if isinstance(value, dict) and "latency_ms" in value:
            found.append(value)
        elif isinstance(value, dict):
            found.extend(_runs(value))
    return found


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b <= 0 else a / b


def report(results: JSONDict, opts: Options) -> tuple[str, JSONDict]:
    """The printed table and the summary (ratios, targets) that also goes in the JSON."""
    lines: list[str] = []
    summary: JSONDict = {"targets": []}
    targets: list[JSONDict] = summary["targets"]

    def target(name: str, value: float | None, limit: float, unit: str) -> None:
        ok = None if value is None else value <= limit
        targets.append({"name": name, "value": value, "limit": limit, "unit": unit, "ok": ok})

    def minimum(name: str, value: float | None, limit: float, unit: str) -> None:
        ok = None if value is None else value >= limit
        targets.append(
            {"name": name, "value": value, "limit": limit, "unit": unit, "ok": ok, "at_least": True}
        )

    meta = results["meta"]
    lines.append(
        f"wiretrace proxy benchmark  {meta['started']}  {meta['cpus']} CPUs  "
        f"python {meta['python']}  aiohttp {meta['aiohttp']}  commit {meta['commit']}"
    )
    lines.append("loopback, fake upstream with 0 ms think time; CPU = the proxy process (all")
    lines.append("threads; 'loop' = its main/event-loop thread alone), per completed call;")
    lines.append("'bg' = CPU cores busy with processes outside the benchmark (noise) in that row")
    lines.append("")
    ns = results.get("non_streamed", {})
    lines.append(
        f"NON-STREAMED chat completions ({opts.requests} calls per row, ~600-byte response)"
    )
    header = (
        f"{'path':<13}{'conc':>5}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'+p50 ms':>9}{'+p99 ms':>9}{'CPU/req µs':>11}{'loop µs':>9}{'err':>5}{'bg':>6}"
    )
    lines.append(header)
    for conc, runs in ns.items():
        direct = runs.get(DIRECT, {})
        for path, run in runs.items():
            lat = run["latency_ms"]
            added50 = _diff(lat.get("p50"), _get(direct, "latency_ms", "p50"))
            added99 = _diff(lat.get("p99"), _get(direct, "latency_ms", "p99"))
            proxy = _get(run, "cpu", "proxy")
            lines.append(
                f"{path:<13}{conc:>5}{run['rps']:>8.0f}{_f(lat.get('p50')):>8}"
                f"{_f(lat.get('p99')):>8}"
                f"{_f(added50 if path != DIRECT else None):>9}"
                f"{_f(added99 if path != DIRECT else None):>9}"
                f"{_f(_get(proxy, 'us_per_call') if proxy else None, 0):>11}"
                f"{_f(_get(proxy, 'main_thread_us_per_call') if proxy else None, 0):>9}"
                f"{run['errors']:>5}{_f(_get(run, 'machine', 'other_cores')):>6}"
            )
            run["added_latency_ms"] = {"p50": added50, "p99": added99}
        wire, base = runs.get(WIRE), runs.get(PASS)
        ratio = _ratio(
            _get(wire, "cpu", "proxy", "us_per_call") if wire else None,
            _get(base, "cpu", "proxy", "us_per_call") if base else None,
        )
        summary[f"cpu_ratio_c{conc}"] = ratio
        summary[f"loop_cpu_ratio_c{conc}"] = _ratio(
            _get(wire, "cpu", "proxy", "main_thread_us_per_call") if wire else None,
            _get(base, "cpu", "proxy", "main_thread_us_per_call") if base else None,
        )
        summary[f"latency_vs_passthrough_c{conc}"] = {
            q: _diff(_get(wire, "latency_ms", q), _get(base, "latency_ms", q))
            if wire and base
            else None
            for q in ("p50", "p99")
        }
        target(f"CPU/request wiretrace / pass-through, c={conc}", ratio, TARGET_CPU_RATIO, "x")
        summary[f"throughput_ratio_c{conc}"] = _ratio(
            wire["rps"] if wire else None, base["rps"] if base else None
        )
        if conc == "64" and wire is not None and base is not None:
            target(
                "latency p99 wiretrace - pass-through, c=64",
                summary["latency_vs_passthrough_c64"]["p99"],
                TARGET_C64_P99_VS_PASS_MS,
                "ms",
            )
            minimum(
                "throughput wiretrace / pass-through, c=64",
                summary["throughput_ratio_c64"],
                TARGET_C64_THROUGHPUT_RATIO,
                "x",
            )
        if conc == "16" and wire is not None:
            target(
                "added latency p50 vs direct, c=16",
                wire["added_latency_ms"]["p50"],
                TARGET_ADDED_P50_MS,
                "ms",
            )
            target(
                "added latency p99 vs direct, c=16",
                wire["added_latency_ms"]["p99"],
                TARGET_ADDED_P99_MS,
                "ms",
            )
    st = results.get("streamed", {})
    if st:
        lines.append("")
        lines.append(
            f"STREAMING ({opts.stream_requests} streams per row at concurrency "
            f"{opts.stream_concurrency}; {opts.chunks} content chunks {opts.chunk_delay_ms:g} ms "
            f"apart; chunk delay = receive time - upstream send stamp)"
        )
        lines.append(
            f"{'path':<13}{'TTFC p50':>9}{'TTFC p99':>9}{'chunk p50':>10}{'chunk p99':>10}"
            f"{'+chunk p50':>11}{'+chunk p99':>11}{'CPU/stream µs':>14}{'loop µs':>9}{'err':>5}"
            f"{'bg':>6}"
        )
        direct = st.get(DIRECT, {})
        for path, run in st.items():
            ttfc, chunk = run["ttft_ms"], run["chunk_delay_ms"]
            added50 = _diff(chunk.get("p50"), _get(direct, "chunk_delay_ms", "p50"))
            added99 = _diff(chunk.get("p99"), _get(direct, "chunk_delay_ms", "p99"))
            run["added_chunk_delay_ms"] = {"p50": added50, "p99": added99}
            run["added_ttft_ms"] = {
                "p50": _diff(ttfc.get("p50"), _get(direct, "ttft_ms", "p50")),
                "p99": _diff(ttfc.get("p99"), _get(direct, "ttft_ms", "p99")),
            }
            proxy = _get(run, "cpu", "proxy")
            lines.append(
                f"{path:<13}{_f(ttfc.get('p50')):>9}{_f(ttfc.get('p99')):>9}"
                f"{_f(chunk.get('p50'), 3):>10}{_f(chunk.get('p99'), 3):>10}"
                f"{_f(added50 if path != DIRECT else None, 3):>11}"
                f"{_f(added99 if path != DIRECT else None, 3):>11}"
                f"{_f(_get(proxy, 'us_per_call') if proxy else None, 0):>14}"
                f"{_f(_get(proxy, 'main_thread_us_per_call') if proxy else None, 0):>9}"
                f"{run['errors']:>5}{_f(_get(run, 'machine', 'other_cores')):>6}"
            )
        wire, base = st.get(WIRE), st.get(PASS)
        summary["cpu_ratio_stream"] = _ratio(
            _get(wire, "cpu", "proxy", "us_per_call") if wire else None,
            _get(base, "cpu", "proxy", "us_per_call") if base else None,
        )
        target(
            "CPU/stream wiretrace / pass-through",
            summary["cpu_ratio_stream"],
            TARGET_CPU_RATIO,
            "x",
        )
        if wire is not None and base is not None:
            target(
                "per-chunk added delay p99, wiretrace - pass-through",
                _diff(wire["added_chunk_delay_ms"]["p99"], base["added_chunk_delay_ms"]["p99"]),
                TARGET_CHUNK_P99_VS_PASS_MS,
                "ms",
            )
    held = results.get("held_streams", {})
    if held:
        lines.append("")
        lines.append(
            f"CONCURRENT STREAMS ({opts.streams} held open at once by the upstream, then "
            "released); RSS in MiB"
        )
        lines.append(
            f"{'path':<13}{'peak open':>10}{'RSS idle':>9}{'all open':>9}{'peak':>8}"
            f"{'after':>8}{'CPU/stream µs':>14}{'err':>5}"
        )
        for path, run in held.items():
            rss = run["rss"]
            lines.append(
                f"{path:<13}{run['peak_open']:>10}{_mib(results['idle_rss'].get(path)):>9}"
                f"{_mib(rss['all_open']):>9}{_mib(rss['peak']):>8}{_mib(rss['after']):>8}"
                f"{_f(_get(run, 'cpu', 'proxy', 'us_per_call'), 0):>14}{run['errors']:>5}"
            )
        wire = held.get(WIRE)
        if wire is not None:
            peak = wire["rss"]["peak"]
            target(
                f"wiretrace RSS peak with {wire['peak_open']} streams open",
                peak / MIB,
                TARGET_RSS_MIB,
                "MiB",
            )
    rec = results.get("recording")
    if rec:
        health = rec["healthz"] or {}
        lines.append("")
        lines.append(
            f"RECORDING  calls made to wiretrace {rec['calls_made']}; /healthz: written "
            f"{health.get('written')}, pending {health.get('pending')}, lost "
            f"{health.get('lost')}, dropped {health.get('dropped')}, storage errors "
            f"{health.get('storage_errors')}; rows in SQLite {rec['rows']}"
        )
        ok = rec["rows"] == rec["calls_made"]
        targets.append(
            {
                "name": "rows in SQLite == calls made",
                "value": rec["rows"],
                "limit": rec["calls_made"],
                "unit": "rows",
                "ok": ok,
            }
        )
    for mode, prof in (results.get("profile") or {}).items():
        lines.append("")
        if not isinstance(prof, dict) or "samples" not in prof:
            lines.append(f"PROFILE: {prof}")
            continue
        lines.append(
            f"PROFILE wiretrace, {mode}, c=16 (py-spy, {prof['samples']} samples while "
            f"{prof['calls']} calls ran; % of samples; raw: {prof['file']})"
        )
        threads = ", ".join(f"{name} {pct}%" for name, pct in prof["threads_pct"])
        lines.append(f"  threads: {threads}")
        lines.append("  self time:")
        lines.extend(f"    {pct:5.1f}%  {name}" for name, pct in prof["self_pct"][:12])
        lines.append("  inclusive (wiretrace_proxy frames):")
        lines.extend(
            f"    {pct:5.1f}%  {name}" for name, pct in prof["inclusive_wiretrace_pct"][:12]
        )
    busy = [
        run["machine"]["other_cores"]
        for phase in ("non_streamed", "streamed")
        for run in _runs(results.get(phase, {}))
        if "machine" in run
    ]
    if busy and max(busy) > 0.25:
        lines.append("")
        lines.append(
            f"NOTE: other processes kept up to {max(busy):.2f} of {meta['cpus']} cores busy "
            "during some rows ('bg'); absolute figures are noisy, ratios less so. Rerun on an "
            "idle machine for figures to quote."
        )
    lines.append("")
    lines.append("RATIOS AND TARGETS")
    for conc in ns:
        value = summary.get(f"cpu_ratio_c{conc}")
        loop = summary.get(f"loop_cpu_ratio_c{conc}")
        vs = summary.get(f"latency_vs_passthrough_c{conc}") or {}
        lines.append(
            f"  CPU per request wiretrace / pass-through, c={conc}: {_f(value)}x "
            f"(event-loop thread alone: {_f(loop)}x); latency wiretrace - pass-through: "
            f"p50 {_f(vs.get('p50'))} ms, p99 {_f(vs.get('p99'))} ms; throughput "
            f"wiretrace / pass-through: {_f(summary.get(f'throughput_ratio_c{conc}'))}x"
        )
    if "cpu_ratio_stream" in summary:
        lines.append(
            f"  CPU per stream  wiretrace / pass-through:       {_f(summary['cpu_ratio_stream'])}x"
        )
    for t in targets:
        value = t["value"]
        digits = 3 if t["unit"] == "ms" else 2
        shown = (
            "-" if value is None else (f"{value}" if t["unit"] == "rows" else f"{value:.{digits}f}")
        )
        bound = ">=" if t.get("at_least") else "<="
        limit = t["limit"] if t["unit"] == "rows" else f"{bound} {t['limit']:g}"
        lines.append(f" {_verdict(t['ok'])}  {t['name']}: {shown} {t['unit']} (target {limit})")
    return "\n".join(lines), summary


# --- main ---------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        description="direct vs pass-through vs wiretrace, one run (see bench/README.md)"
    )
    parser.add_argument("--requests", type=int, help="non-streamed calls per measured row")
    parser.add_argument("--concurrency", help="comma-separated, default 16,64")
    parser.add_argument("--streams", type=int, help="streams held open at once (RSS phase)")
    parser.add_argument("--stream-requests", type=int, help="streams per streaming row")
    parser.add_argument("--stream-concurrency", type=int, default=16)
    parser.add_argument("--chunks", type=int, default=20, help="content chunks per stream")
    parser.add_argument("--chunk-delay-ms", type=float, default=5.0)
    parser.add_argument(
        "--no-include-usage",
        action="store_true",
        help="streams without stream_options.include_usage (wiretrace then injects it)",
    )
    parser.add_argument(
        "--paths", default=f"{DIRECT},{PASS},{WIRE}", help="subset of direct,pass-through,wiretrace"
    )
    parser.add_argument("--quick", action="store_true", help="a ~30 s smoke run")
    parser.add_argument(
        "--rounds", type=int, help="measured rounds per row, interleaved across paths (3; quick 1)"
    )
    parser.add_argument("--phase-timeout", type=float, default=60.0, help="seconds per phase")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (db, logs)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after the measured phases, profile wiretrace with py-spy (needs py-spy)",
    )
    parser.add_argument(
        "--wiretrace-cmd",
        help="command to start wiretrace instead of .venv/bin/wiretrace (the serve arguments "
        "are appended), e.g. to compare another checkout",
    )
    parser.add_argument("--out", type=Path, help="JSON results file")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    for path in paths:
        if path not in (DIRECT, PASS, WIRE):
            parser.error(f"unknown path {path!r}")
    if DIRECT not in paths:
        paths.insert(0, DIRECT)  # added latency is measured against it
    concurrency = [int(c) for c in (args.concurrency or "16,64").split(",") if c.strip()]
    return Options(
        requests=args.requests or (1000 if quick else 8000),
        concurrency=concurrency,
        streams=args.streams or (300 if quick else 1000),
        stream_requests=args.stream_requests or (150 if quick else 1000),
        stream_concurrency=args.stream_concurrency,
        chunks=args.chunks,
        chunk_delay_ms=args.chunk_delay_ms,
        include_usage=not args.no_include_usage,
        paths=[p for p in (DIRECT, PASS, WIRE) if p in paths],
        phase_timeout=args.phase_timeout,
        rounds=max(1, args.rounds or (1 if quick else 3)),
        keep=args.keep,
        profile=args.profile,
        wiretrace_cmd=args.wiretrace_cmd,
        out=args.out,
    )


def _meta() -> JSONDict:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "started": datetime.now().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "commit": commit or "?",
    }


async def run(opts: Options, out: TextIO, stamp: str) -> JSONDict:
    """Start everything, run the phases, stop everything; the results."""
    _raise_fd_limit()
    workdir = Path(tempfile.mkdtemp(prefix="wiretrace-bench-"))
    results: JSONDict = {"meta": _meta(), "options": {**vars(opts), "out": str(opts.out)}}
    started = time.monotonic()
    servers: dict[str, Server] = {}
    upstream: Server | None = None
    loadgen: LoadGen | None = None
    connector = aiohttp.TCPConnector(limit=8)
    async with aiohttp.ClientSession(connector=connector) as http:
        try:
            upstream, servers, db = await start_servers(opts, workdir, http)
            results["idle_rss"] = {name: read_rss(s.pid) for name, s in servers.items()}
            loadgen = await LoadGen.start(workdir)
            bench = Bench(opts, workdir, http, loadgen, upstream, servers, db, results)
            await bench.non_streamed()
            await bench.streamed()
            await bench.held_streams()
            await bench.recording_check()
            if opts.profile:
                await bench.profile(stamp)
        finally:
            if loadgen is not None:
                await loadgen.quit()
            if WIRE in servers:
                code = await stop(servers[WIRE])
                results["wiretrace_exit_code_on_sigterm"] = code
                if "recording" in results:
                    results["recording"]["rows_after_stop"] = count_rows(db)
            for name, server in servers.items():
                if name != WIRE:
                    await stop(server)
            if upstream is not None:
                await stop(upstream)
            results["elapsed_s"] = time.monotonic() - started
            if opts.keep:
                print(f"kept {workdir}", file=out)
            else:
                shutil.rmtree(workdir, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    stamp = f"{datetime.now():%Y%m%d-%H%M%S}"
    try:
        results = asyncio.run(run(opts, sys.stdout, stamp))
    except BenchError as exc:
        print(f"bench: broke: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    table, summary = report(results, opts)
    results["summary"] = summary
    print()
    print(table)
    print(f"\n(run took {results['elapsed_s']:.0f} s)")
    path = opts.out or RESULTS / f"{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
