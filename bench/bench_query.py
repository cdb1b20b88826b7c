"""``make bench-query``: the query API over HTTP against a database of N generated calls.

Makes (or reuses) the database with ``gen_calls.py``, starts the real ``wiretrace serve`` on
it (127.0.0.1, a free port, an upstream nobody listens on) and measures, over one
keep-alive connection, each request repeated after a warm-up:

- ``/api/calls`` first page (limit 50) with each single filter, each sort, and a few
  filter + sort combinations; the next page through ``next_cursor``;
- ``/api/traces/{id}`` of a 50-call trace;
- ``/api/stats`` grouped by model, day, op name and a property;
- ``/api/calls/export`` of 100,000 calls (JSONL and CSV), streamed: calls/s and the
  server's RSS sampled while it streams (start, peak, end);
- the database: rows, file, WAL, and the size of the table and of each index.

Then, for every request that missed its target, a second server with every SQL statement
logged replays it once, and each statement is run through ``EXPLAIN QUERY PLAN`` (and timed
alone) with ``sqlite3``, so the report says which plan is slow.

Prints one table with PASS/MISS against the query API's targets (the ``TARGET_*`` constants)
and writes ``bench/results/query-<timestamp>.json``. An endpoint that does not exist yet is
reported as ``missing``, a parameter the API refuses as ``refused``. A missed target is a
finding: the exit status is non-zero only when the benchmark itself broke. See
``bench/README.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import http.client
import json
import os
import platform
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import gen_calls
import pg_copy

JSONDict = dict[str, Any]

HOST = "127.0.0.1"
BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024

TARGET_PAGE_MS = 50.0
TARGET_TRACE_MS = 20.0
TARGET_STATS_MS = 1000.0
TARGET_EXPORT_RATE = 20_000.0
TARGET_EXPORT_GROWTH_MIB = 64.0
""""Flat memory": RSS may grow by at most this much while 100,000 calls stream (the whole
result in memory would be several hundred MiB)."""
EXPORT_CALLS = 100_000

# What a missed request is, in the result column.
PASS, MISS, MISSING, REFUSED, ERROR, INFO = "PASS", "MISS", "missing", "refused", "error", "info"


class BenchError(Exception):
    """The benchmark itself broke (as opposed to a target being missed)."""


# --- the server ------------------------------------------------------------------------


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


def read_rss(pid: int) -> int:
    """Resident set size in bytes."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


_SQL_LOGGER = """
import json, sys
from sqlalchemy import event
from sqlalchemy.engine import Engine
_out = open(sys.argv.pop(1), "a", encoding="utf-8")
@event.listens_for(Engine, "before_cursor_execute")
def _log(conn, cursor, statement, parameters, context, executemany):
    if not executemany:
        _out.write(json.dumps({"sql": statement, "params": parameters}, default=str) + "\\n")
        _out.flush()
from wiretrace_proxy.cli import main
sys.argv[0] = "wiretrace"
sys.exit(main())
"""
"""Runs ``wiretrace serve`` with every SQL statement (and its DBAPI parameters) appended to
a file: the explain pass replays a request and reads what the server executed."""


@dataclass
class Server:
    """A ``wiretrace serve`` process on the benchmark database."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    sql_log: Path | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_server(
    command: list[str],
    db: Path | str,
    workdir: Path,
    timeout_s: float,
    sql_log: Path | None = None,
) -> Server:
    """Start the server and wait for ``/healthz`` (migrations may run first)."""
    port = free_port()
    serve = ["serve", "--host", HOST, "--port", str(port), "--db", str(db)]
    serve += ["--upstream", "http://127.0.0.1:9"]
    if sql_log is None:
        argv = [*command, *serve]
    else:
        argv = [sys.executable, "-c", _SQL_LOGGER, str(sql_log), *serve]
    log = workdir / (f"server-{port}.log")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=str(ROOT),
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    server = Server(proc, port, log, sql_log)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"wiretrace exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return server
            conn.close()
        except OSError:
            pass
        time.sleep(0.2)
    stop_server(server)
    raise BenchError(f"wiretrace not ready after {timeout_s:.0f} s:\n{server.log_tail()}")


def stop_server(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(30)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()


# --- HTTP --------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    body: bytes
    seconds: float
    content_type: str


class Client:
    """One keep-alive HTTP/1.1 connection to the server; reconnects after an error."""

    def __init__(self, port: int, timeout_s: float) -> None:
        self.port = port
        self.timeout_s = timeout_s
        self.conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout_s)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def get(self, path: str) -> Reply:
        """The whole response; ``seconds`` from sending to the last body byte."""
        conn = self._connection()
        started = time.perf_counter()
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        seconds = time.perf_counter() - started
        if resp.getheader("connection", "").lower() == "close":
            self.close()
        return Reply(resp.status, body, seconds, resp.getheader("content-type", ""))

    @contextlib.contextmanager
    def stream(self, path: str) -> Iterator[http.client.HTTPResponse]:
        """A response to read incrementally (its own connection)."""
        conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout_s)
        try:
            conn.request("GET", path)
            yield conn.getresponse()
        finally:
            conn.close()


def url(path: str, params: Sequence[tuple[str, str]]) -> str:
    return f"{path}?{urllib.parse.urlencode(params)}" if params else path


def classify(reply: Reply) -> tuple[str, str]:
    """``(result, note)`` for a reply that is not a 200."""
    if reply.status == 404 and "json" not in reply.content_type:
        return MISSING, "no such endpoint (404)"
    message = reply.body[:300].decode(errors="replace")
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        error = json.loads(reply.body)["error"]
        message = f"{error.get('param')}: {error.get('message')}"
    if reply.status == 400:
        return REFUSED, message
    return ERROR, f"HTTP {reply.status}: {message}"


# --- statistics --------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.4999)))
    return ordered[rank - 1]


@dataclass
class Case:
    """One measured request (or series of requests) and its outcome."""

    group: str
    name: str
    path: str
    target: str
    """Human-readable target, e.g. ``p50 ≤ 50 ms``; empty when only informative."""
    limit_ms: float | None = None
    result: str = ""
    note: str = ""
    samples_ms: list[float] = field(default_factory=list)
    first_ms: float | None = None
    rows: int | None = None
    bytes: int | None = None
    extra: JSONDict = field(default_factory=dict)
    explain: list[JSONDict] = field(default_factory=list)

    @property
    def p50(self) -> float | None:
        return percentile(self.samples_ms, 50) if self.samples_ms else None

    @property
    def p95(self) -> float | None:
        return percentile(self.samples_ms, 95) if self.samples_ms else None

    def judge(self) -> None:
        if self.result:
            return
        if self.limit_ms is None:
            self.result = INFO
        else:
            p50 = self.p50
            self.result = PASS if p50 is not None and p50 <= self.limit_ms else MISS

    def to_json(self) -> JSONDict:
        data = asdict(self)
        data["p50_ms"], data["p95_ms"] = self.p50, self.p95
        return data


def count_rows(body: bytes) -> int | None:
    with contextlib.suppress(ValueError):
        data = json.loads(body)
        if isinstance(data, dict):
            for key in ("calls", "groups"):
                if isinstance(data.get(key), list):
                    return len(data[key])
            summary = data.get("summary")
            if isinstance(summary, dict) and isinstance(summary.get("calls"), int):
                return int(summary["calls"])
    return None


def measure(
    client: Client, case: Case, warmup: int, requests: int, budget_s: float
) -> bytes | None:
    """``warmup`` then ``requests`` GETs of ``case.path`` (fewer if ``budget_s`` runs out,
    never fewer than 3); the first reply's body, or None if the request failed."""
    try:
        first = client.get(case.path)
    except (OSError, http.client.HTTPException) as exc:
        case.result, case.note = ERROR, f"{type(exc).__name__}: {exc}"
        return None
    case.first_ms = first.seconds * 1000
    if first.status != 200:
        case.result, case.note = classify(first)
        return None
    case.rows, case.bytes = count_rows(first.body), len(first.body)
    started = time.monotonic()
    for _ in range(max(0, warmup - 1)):
        client.get(case.path)
    for i in range(requests):
        reply = client.get(case.path)
        if reply.status != 200:
            case.result, case.note = classify(reply)
            break
        case.samples_ms.append(reply.seconds * 1000)
        if i >= 2 and time.monotonic() - started > budget_s:
            case.note = f"time budget: {i + 1} of {requests} requests"
            break
    case.judge()
    return first.body


# --- what to ask for ---------------------------------------------------------------------


@dataclass
class Samples:
    """Filter values picked from the database itself (any wiretrace database works)."""

    rows: int
    first: str
    last: str
    models: list[str]
    op_name: str
    session_id: str | None
    user_id: str | None
    prompt_digest: str | None
    op_version: tuple[str, str] | None
    trace_50: str | None
    trace_50_size: int
    small_trace: str | None
    day_since: str
    day_until: str
    export_since: str | None
    team: str | None


def _iso(stored: str) -> str:
    """A stored ``YYYY-MM-DD HH:MM:SS.ffffff`` (UTC) as an ISO 8601 parameter."""
    return datetime.fromisoformat(stored).replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def pick_samples(db: Path) -> Samples:
    """Representative filter values: mid-frequency sessions, users and prompts, the largest
    trace (50 calls in a generated database), the time range, a 100,000-call window."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:

        def one(sql: str, *params: object) -> Any:
            row = conn.execute(sql, params).fetchone()
            return row[0] if row else None

        def middle(column: str) -> str | None:
            ranked = conn.execute(
                f"SELECT {column} FROM calls WHERE {column} IS NOT NULL"
                f" GROUP BY {column} ORDER BY count(*) DESC, {column}"
            ).fetchall()
            return str(ranked[len(ranked) // 2][0]) if ranked else None

        rows = int(one("SELECT count(*) FROM calls"))
        statuses = ("ok", "error", "cancelled", "running")
        # min/max per status come straight from the (status, started_at) index
        firsts = [one("SELECT min(started_at) FROM calls WHERE status = ?", s) for s in statuses]
        lasts = [one("SELECT max(started_at) FROM calls WHERE status = ?", s) for s in statuses]
        first = min(v for v in firsts if v)
        last = max(v for v in lasts if v)
        models = [
            str(r[0])
            for r in conn.execute(
                "SELECT model FROM calls WHERE model IS NOT NULL GROUP BY model"
                " ORDER BY count(*) DESC"
            )
        ]
        op_name = one(
            "SELECT op_name FROM calls WHERE op_name = 'openai.responses.create' LIMIT 1"
        ) or one("SELECT op_name FROM calls GROUP BY op_name ORDER BY count(*) DESC")
        version = conn.execute(
            "SELECT op_name, op_version FROM calls WHERE op_version IS NOT NULL"
            " GROUP BY op_name, op_version ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()
        traces = conn.execute(
            "SELECT trace_id, count(*) AS n FROM calls GROUP BY trace_id HAVING n > 1"
            " ORDER BY n = 50 DESC, n DESC LIMIT 1"
        ).fetchone()
        small = one(
            "SELECT trace_id FROM calls WHERE parent_id IS NULL AND kind = 'op'"
            " ORDER BY rowid DESC LIMIT 1"
        )
        mid = (
            datetime.fromisoformat(first)
            + (datetime.fromisoformat(last) - datetime.fromisoformat(first)) / 2
        )
        export_since = one(
            "SELECT started_at FROM calls INDEXED BY ix_calls_project_started_at"
            " WHERE project IS NOT NULL ORDER BY started_at DESC LIMIT 1 OFFSET ?",
            EXPORT_CALLS - 1,
        )
        team = one(
            "SELECT json_extract(attributes, '$.properties.team') FROM calls"
            " WHERE json_extract(attributes, '$.properties.team') IS NOT NULL"
            " ORDER BY rowid DESC LIMIT 1"
        )
        return Samples(
            rows=rows,
            first=_iso(first),
            last=_iso(last),
            models=models,
            op_name=str(op_name),
            session_id=middle("session_id"),
            user_id=middle("user_id"),
            prompt_digest=middle("prompt_digest"),
            op_version=(str(version[0]), str(version[1])) if version else None,
            trace_50=str(traces[0]) if traces else None,
            trace_50_size=int(traces[1]) if traces else 0,
            small_trace=str(small) if small else None,
            day_since=_iso(str(mid.replace(hour=0, minute=0, second=0, microsecond=0))),
            day_until=_iso(
                str(mid.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1))
            ),
            export_since=_iso(export_since) if export_since else None,
            team=str(team) if team else None,
        )


def _model(s: Samples, rank: int) -> str:
    return s.models[min(rank, len(s.models) - 1)] if s.models else "gpt-4o"


def call_cases(s: Samples) -> list[tuple[str, list[tuple[str, str]]]]:
    """``(name, params)`` of every first-page request of ``/api/calls``."""
    rare_text = "48213"  # an order/invoice number: a handful of calls mention it
    filters: list[tuple[str, list[tuple[str, str]]]] = [
        ("no filter", []),
        (f"model={_model(s, 1)}", [("model", _model(s, 1))]),
        (f"model={_model(s, 0)} (most calls)", [("model", _model(s, 0))]),
        (f"op_name={s.op_name}", [("op_name", s.op_name)]),
        ("status=error", [("status", "error")]),
        ("session_id", [("session_id", s.session_id or "none")]),
        ("user_id", [("user_id", s.user_id or "none")]),
        ("property.env=staging", [("property.env", "staging")]),
        ("prompt_digest", [("prompt_digest", s.prompt_digest or "none")]),
        ("since/until (1 day)", [("since", s.day_since), ("until", s.day_until)]),
        ("min_latency_ms=10000", [("min_latency_ms", "10000")]),
        ("q=Zürich (common)", [("q", "Zürich")]),
        (f"q={rare_text} (rare)", [("q", rare_text)]),
        ("roots_only=true", [("roots_only", "true")]),
        ("trace_id (50 calls)", [("trace_id", s.trace_50 or "0" * 32)]),
    ]
    if s.op_version:
        filters.append(
            ("op_name+op_version", [("op_name", s.op_version[0]), ("op_version", s.op_version[1])])
        )
    sorts = [
        "started_at",
        "-latency_ms",
        "latency_ms",
        "-cost_usd",
        "-total_tokens",
        "ttft_ms",
        "-ttft_ms",
        "-prompt_tokens",
        "-completion_tokens",
    ]
    combos: list[tuple[str, list[tuple[str, str]]]] = [
        (f"model={_model(s, 1)} sort=-latency_ms", [("model", _model(s, 1))]),
        ("status=error sort=-started_at", [("status", "error")]),
        ("session_id sort=-cost_usd", [("session_id", s.session_id or "none")]),
        ("user_id sort=started_at", [("user_id", s.user_id or "none")]),
        ("property.env=prod sort=-total_tokens", [("property.env", "prod")]),
        ("since/until sort=-latency_ms", [("since", s.day_since), ("until", s.day_until)]),
        ("prompt_digest sort=-cost_usd", [("prompt_digest", s.prompt_digest or "none")]),
        ("roots_only sort=-latency_ms", [("roots_only", "true")]),
        (f"model={_model(s, 0)}+status=error", [("model", _model(s, 0)), ("status", "error")]),
    ]
    cases = [(f"filter {name}", params) for name, params in filters]
    cases += [(f"sort={key}", [("sort", key)]) for key in sorts]
    for name, params in combos:
        sort = name.split("sort=")[1] if "sort=" in name else None
        cases.append((f"combo {name}", params + ([("sort", sort)] if sort else [])))
    return cases


# --- phases ----------------------------------------------------------------------------


@dataclass
class Options:
    warmup: int
    requests: int
    budget_s: float
    export_runs: int


def run_calls(client: Client, s: Samples, opt: Options) -> list[Case]:
    cases: list[Case] = []
    for name, params in call_cases(s):
        case = Case(
            "calls",
            name,
            url("/api/calls", [*params, ("limit", "50")]),
            f"p50 ≤ {TARGET_PAGE_MS:.0f} ms",
            TARGET_PAGE_MS,
        )
        measure(client, case, opt.warmup, opt.requests, opt.budget_s)
        cases.append(case)
        print_progress(case)
    for name, params in [
        ("next page (default sort)", []),
        ("next page sort=-latency_ms", [("sort", "-latency_ms")]),
        (f"next page model={_model(s, 1)} sort=-cost_usd", [("model", _model(s, 1))]),
        ("next page sort=ttft_ms", [("sort", "ttft_ms")]),
    ]:
        if "sort=-cost_usd" in name:
            params = [*params, ("sort", "-cost_usd")]
        cases.append(run_next_page(client, name, params, opt, pages=1))
    cases.append(run_next_page(client, "page 21 (default sort)", [], opt, pages=20))
    return cases


def run_next_page(
    client: Client, name: str, params: list[tuple[str, str]], opt: Options, pages: int
) -> Case:
    """Walk ``pages`` pages by cursor, then measure the next one."""
    case = Case("calls", name, "", f"p50 ≤ {TARGET_PAGE_MS:.0f} ms", TARGET_PAGE_MS)
    path = url("/api/calls", [*params, ("limit", "50")])
    for _ in range(pages):
        reply = client.get(path)
        if reply.status != 200:
            case.result, case.note = classify(reply)
            print_progress(case)
            return case
        cursor = json.loads(reply.body).get("next_cursor")
        if not cursor:
            case.result, case.note = ERROR, "no next_cursor on a full page"
            print_progress(case)
            return case
        path = url("/api/calls", [*params, ("limit", "50"), ("cursor", cursor)])
    case.path = path
    measure(client, case, opt.warmup, opt.requests, opt.budget_s)
    print_progress(case)
    return case


def run_traces(client: Client, s: Samples, opt: Options) -> list[Case]:
    cases = []
    if s.trace_50:
        case = Case(
            "trace",
            f"trace of {s.trace_50_size} calls",
            f"/api/traces/{s.trace_50}",
            f"p50 ≤ {TARGET_TRACE_MS:.0f} ms",
            TARGET_TRACE_MS if s.trace_50_size == 50 else None,
        )
        measure(client, case, opt.warmup, opt.requests, opt.budget_s)
        cases.append(case)
        print_progress(case)
    if s.small_trace:
        case = Case("trace", "typical SDK trace", f"/api/traces/{s.small_trace}", "")
        measure(client, case, opt.warmup, opt.requests, opt.budget_s)
        cases.append(case)
        print_progress(case)
    return cases


DASHBOARD_RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}


def dashboard_requests(s: Samples, span: timedelta) -> list[tuple[str, list[tuple[str, str]]]]:
    """The ``/api/stats`` requests the dashboard sends for a range ending now (the newest
    call here; off whole hours, as the browser's clock is): the series by hour, the top
    models, the top ops by cost, then the series of each top model (the first here)."""
    until = datetime.fromisoformat(s.last.replace("Z", "+00:00")).replace(microsecond=123_000)
    since = until - span
    window = [("since", _browser_iso(since)), ("until", _browser_iso(until))]
    return [
        ("series", [("group_by", "hour"), *window, ("sort", "key"), ("limit", "10000")]),
        ("models", [("group_by", "model"), *window, ("sort", "calls"), ("limit", "6")]),
        ("ops", [("group_by", "op_name"), *window, ("sort", "cost_usd"), ("limit", "10")]),
        (
            "one model's series",
            [("group_by", "hour"), *window, ("model", _model(s, 0)), ("sort", "key")]
            + [("limit", "10000")],
        ),
    ]


def _browser_iso(moment: datetime) -> str:
    """As ``Date.toISOString()`` writes it: milliseconds and ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run_dashboard(client: Client, s: Samples, opt: Options) -> list[Case]:
    """The dashboard's 24-hour and 7-day views, each request against 1 s."""
    cases = []
    for name, span in DASHBOARD_RANGES.items():
        for label, params in dashboard_requests(s, span):
            case = Case("dashboard", f"{name}: {label}", url("/api/stats", params), "p50 ≤ 1 s")
            case.limit_ms = TARGET_STATS_MS
            measure(client, case, opt.warmup, opt.requests, opt.budget_s)
            cases.append(case)
            print_progress(case)
    return cases


def run_stats(client: Client, s: Samples, opt: Options) -> list[Case]:
    cases = []
    groupings = [
        ("model", TARGET_STATS_MS),
        ("day", None),
        ("op_name", None),
        ("property.team", None),
        ("hour", None),
    ]
    for group_by, limit in groupings:
        target = f"p50 ≤ {TARGET_STATS_MS / 1000:.0f} s" if limit else "(≤ 1 s ref)"
        case = Case("stats", f"group_by={group_by}", f"/api/stats?group_by={group_by}", target)
        case.limit_ms = limit
        measure(client, case, opt.warmup, opt.requests, opt.budget_s)
        if limit is None and case.p50 is not None and not case.result.startswith(("m", "r")):
            case.result = PASS if case.p50 <= TARGET_STATS_MS else MISS
        cases.append(case)
        print_progress(case)
    case = Case(
        "stats",
        f"group_by=model, model={_model(s, 1)}, 1 day",
        url(
            "/api/stats",
            [
                ("group_by", "model"),
                ("model", _model(s, 1)),
                ("since", s.day_since),
                ("until", s.day_until),
            ],
        ),
        "",
    )
    measure(client, case, opt.warmup, opt.requests, opt.budget_s)
    cases.append(case)
    print_progress(case)
    return cases


class RssSampler:
    """The server's RSS every 20 ms on a thread, between ``start`` and ``stop``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                self.samples.append(read_rss(self.pid))
            self._stop.wait(0.02)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def export_params(client: Client, s: Samples, fmt: str) -> tuple[list[tuple[str, str]], str]:
    """Parameters that export 100,000 calls: ``limit`` if the endpoint takes it, else a
    ``since`` that 100,000 calls match."""
    probe = client.get(url("/api/calls/export", [("format", fmt), ("limit", "1")]))
    if probe.status == 200:
        return [("format", fmt), ("limit", str(EXPORT_CALLS))], f"limit={EXPORT_CALLS}"
    if s.export_since is None:
        return [("format", fmt)], "all calls"
    return [("format", fmt), ("since", s.export_since)], "since=<100,000th newest call>"


def run_export(client: Client, server: Server, s: Samples, fmt: str, opt: Options) -> Case:
    case = Case(
        "export",
        f"export {fmt} 100,000 calls",
        "",
        f"≥ {TARGET_EXPORT_RATE:,.0f} calls/s, RSS +≤ {TARGET_EXPORT_GROWTH_MIB:.0f} MiB",
    )
    probe = client.get(url("/api/calls/export", [("format", fmt), ("limit", "1")]))
    if probe.status == 404 and "json" not in probe.content_type:
        case.result, case.note = classify(probe)
        print_progress(case)
        return case
    params, how = export_params(client, s, fmt)
    case.path = url("/api/calls/export", params)
    case.note = how
    runs: list[JSONDict] = []
    for _ in range(opt.export_runs):
        run = export_once(client, server, case.path)
        if "error" in run:
            case.result, case.note = ERROR, str(run["error"])
            break
        runs.append(run)
    case.extra["runs"] = runs
    if runs:
        best = sorted(runs, key=lambda r: float(r["calls_per_s"]))[len(runs) // 2]  # median
        case.rows, case.bytes = int(best["calls"]), int(best["bytes"])
        case.samples_ms = [float(r["seconds"]) * 1000 for r in runs]
        case.extra.update(best)
        growth = max(float(r["rss_growth_mib"]) for r in runs)
        rate = float(best["calls_per_s"])
        ok = rate >= TARGET_EXPORT_RATE and growth <= TARGET_EXPORT_GROWTH_MIB
        enough = int(best["calls"]) >= EXPORT_CALLS * 0.99
        if not enough:
            case.note += f"; only {best['calls']:,} calls matched"
        case.result = PASS if ok and enough else MISS
    print_progress(case)
    return case


def export_once(client: Client, server: Server, path: str) -> JSONDict:
    """One streamed export: calls (lines), bytes, time to first byte, rate, RSS."""
    rss_before = read_rss(server.pid)
    lines = size = 0
    first_byte: float | None = None
    with RssSampler(server.pid) as sampler, client.stream(path) as resp:
        started = time.perf_counter()
        if resp.status != 200:
            return {"error": f"HTTP {resp.status}: {resp.read()[:300]!r}"}
        content_type = resp.getheader("content-type", "")
        while True:
            chunk = resp.read1(1 << 16)
            if not chunk:
                break
            if first_byte is None:
                first_byte = time.perf_counter() - started
            size += len(chunk)
            lines += chunk.count(b"\n")
        seconds = time.perf_counter() - started
    rss_after = read_rss(server.pid)
    samples = sampler.samples or [rss_before]
    calls = lines - 1 if "csv" in content_type or path.find("format=csv") >= 0 else lines
    return {
        "calls": calls,
        "bytes": size,
        "seconds": seconds,
        "ttfb_ms": (first_byte or 0) * 1000,
        "calls_per_s": calls / seconds if seconds else 0.0,
        "mib_per_s": size / MIB / seconds if seconds else 0.0,
        "rss_start_mib": rss_before / MIB,
        "rss_peak_mib": max(samples) / MIB,
        "rss_end_mib": rss_after / MIB,
        "rss_growth_mib": (max(samples) - rss_before) / MIB,
        "content_type": content_type,
    }


# --- the database ----------------------------------------------------------------------


def database_facts(db: Path) -> JSONDict:
    """Rows, file and WAL sizes, and bytes per table and index (``dbstat``)."""
    wal = Path(str(db) + "-wal")
    facts: JSONDict = {
        "path": str(db),
        "file_bytes": db.stat().st_size,
        "wal_bytes": wal.stat().st_size if wal.exists() else 0,
    }
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        facts["rows"] = int(conn.execute("SELECT count(*) FROM calls").fetchone()[0])
        facts["page_size"] = int(conn.execute("PRAGMA page_size").fetchone()[0])
        facts["analyzed"] = bool(
            conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
            ).fetchone()[0]
        )
        try:
            sizes = conn.execute(
                "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"
            ).fetchall()
            facts["objects"] = {str(name): int(size) for name, size in sizes}
        except sqlite3.Error as exc:
            facts["objects_error"] = str(exc)
    return facts


# --- explain -----------------------------------------------------------------------------


def explain_misses(cases: list[Case], command: list[str], db: Path, workdir: Path) -> None:
    """Replay each missed request once on a server that logs its SQL; EXPLAIN each statement
    the request ran and time it alone with sqlite3."""
    targets = [c for c in cases if c.result == MISS and c.path]
    if not targets:
        return
    print(f"\nexplaining {len(targets)} missed requests (SQL logged by a second server) ...")
    sql_log = workdir / "sql.jsonl"
    server = start_server(command, db, workdir, 600, sql_log=sql_log)
    client = Client(server.port, 300)
    try:
        for case in targets:
            offset = sql_log.stat().st_size if sql_log.exists() else 0
            if case.group == "export":
                with client.stream(case.path) as resp:
                    while resp.read1(1 << 16):
                        pass
            else:
                client.get(case.path)
            time.sleep(0.05)
            with sql_log.open("rb") as f:
                f.seek(offset)
                statements = [json.loads(line) for line in f if line.strip()]
            case.explain = [
                explain(db, st["sql"], st["params"])
                for st in statements
                if not _TRIVIAL.match(st["sql"])
            ]
    finally:
        client.close()
        stop_server(server)


_TRIVIAL = re.compile(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|PRAGMA)\b", re.I)
_COLUMN_LIST = re.compile(r"SELECT (calls\.\w+, ){10,}calls\.\w+ FROM", re.S)


def short_sql(sql: str) -> str:
    """One line, the full column list of ``calls`` shown as ``calls.*``."""
    return _COLUMN_LIST.sub("SELECT calls.* FROM", " ".join(sql.split()))


def worth_showing(st: JSONDict) -> bool:
    """A statement that scans, sorts in a temp b-tree, or takes ≥ 5 ms alone."""
    plan = " ".join(st.get("plan", []))
    return float(st.get("ms", 0)) >= 5 or "SCAN" in plan or "TEMP B-TREE" in plan


def explain(db: Path, sql: str, params: Any) -> JSONDict:
    """The plan of one statement and how long it takes alone (read-only connection)."""
    args: Sequence[Any] | dict[str, Any] = params if isinstance(params, list | dict) else ()
    out: JSONDict = {"sql": sql, "params": params}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        try:
            plan = conn.execute("EXPLAIN QUERY PLAN " + sql, args).fetchall()
            out["plan"] = [str(row[3]) for row in plan]
            started = time.perf_counter()
            cursor = conn.execute(sql, args)
            n = sum(1 for _ in cursor)
            out["ms"] = (time.perf_counter() - started) * 1000
            out["rows"] = n
        except sqlite3.Error as exc:
            out["error"] = str(exc)
    return out


# --- report ------------------------------------------------------------------------------


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"


def print_progress(case: Case) -> None:
    figures = f"p50 {fmt_ms(case.p50)} ms" if case.samples_ms else case.note
    print(f"  {case.group:<7} {case.name:<45} {case.result or '?':<8} {figures}", flush=True)


def print_table(cases: list[Case], facts: JSONDict, samples: Samples) -> None:
    header = (
        f"{'group':<7} {'request':<46} {'n':>3} {'first':>8} {'p50 ms':>8} {'p95 ms':>8}"
        f" {'rows':>7} {'KiB':>7}  {'target':<18} result"
    )
    print("\n" + header)
    print("-" * len(header))
    for c in cases:
        if c.group == "export":
            continue
        rows = "-" if c.rows is None else str(c.rows)
        kib = "-" if c.bytes is None else f"{c.bytes / 1024:,.0f}"
        note = f"  {c.note}" if c.note and c.result not in (PASS, INFO) else ""
        print(
            f"{c.group:<7} {c.name[:46]:<46} {len(c.samples_ms):>3} {fmt_ms(c.first_ms):>8}"
            f" {fmt_ms(c.p50):>8} {fmt_ms(c.p95):>8} {rows:>7} {kib:>7}  {c.target:<18}"
            f" {c.result}{note}"
        )
    for c in cases:
        if c.group != "export":
            continue
        print(f"\n{c.name} ({c.note})  target {c.target}: {c.result}")
        for run in c.extra.get("runs", []):
            print(
                f"  {run['calls']:>8,} calls  {run['seconds']:6.2f} s  {run['calls_per_s']:>8,.0f}"
                f" calls/s  {run['mib_per_s']:6.1f} MiB/s  ttfb {run['ttfb_ms']:,.0f} ms"
                f"  RSS start {run['rss_start_mib']:.0f} / peak {run['rss_peak_mib']:.0f}"
                f" / end {run['rss_end_mib']:.0f} MiB"
            )
    gib = facts["file_bytes"] / 1024**3
    print(
        f"\ndatabase {facts['path']}: {facts['rows']:,} calls, {gib:.2f} GiB"
        f" ({facts['file_bytes'] / max(1, facts['rows']):,.0f} B/call),"
        f" WAL {facts['wal_bytes'] / MIB:.1f} MiB, ANALYZE stats: {facts['analyzed']}"
    )
    objects = facts.get("objects", {})
    if objects:
        parts = [f"{name} {size / MIB:,.0f}" for name, size in objects.items()]
        print("  MiB: " + ", ".join(parts))
    print(f"  calls from {samples.first} to {samples.last}")
    for c in cases:
        shown = [st for st in c.explain if worth_showing(st)]
        if shown:
            print(f"\nEXPLAIN [{c.group}] {c.name} (p50 {fmt_ms(c.p50)} ms over HTTP)")
        for st in shown:
            rows = st.get("rows", "?")
            print(f"  {fmt_ms(st.get('ms'))} ms alone, {rows} rows: {short_sql(st['sql'])[:600]}")
            print(f"    params {json.dumps(st['params'], ensure_ascii=False)[:200]}")
            for line in st.get("plan", [st.get("error", "")]):
                print(f"    | {line}")
    counts: dict[str, int] = {}
    for c in cases:
        counts[c.result] = counts.get(c.result, 0) + 1
    print("\n" + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))


def git_head() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            ["git", "log", "-1", "--format=%h %s"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip()
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=gen_calls.DEFAULT_ROWS)
    parser.add_argument(
        "--db",
        help="SQLite file (made by gen_calls.py if needed), or a postgresql:// URL of an empty"
        " database, filled with that file's calls by pg_copy.py",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="100,000 calls, fewer repeats")
    parser.add_argument("--requests", type=int, help="measured requests per case (20)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up requests per case")
    parser.add_argument("--budget", type=float, default=90.0, help="max seconds per case")
    parser.add_argument("--export-runs", type=int, help="exports per format (3)")
    parser.add_argument("--no-explain", action="store_true", help="skip the EXPLAIN pass")
    parser.add_argument(
        "--wiretrace-cmd", default=str(ROOT / ".venv/bin/wiretrace"), help="server command"
    )
    parser.add_argument("--keep", action="store_true", help="keep the server logs")
    args = parser.parse_args(argv)
    rows = 100_000 if args.quick and "--rows" not in (argv or sys.argv) else args.rows
    opt = Options(
        warmup=args.warmup,
        requests=args.requests or 20,
        budget_s=args.budget if not args.quick else min(args.budget, 20.0),
        export_runs=args.export_runs or (1 if args.quick else 3),
    )
    postgresql = str(args.db or "").startswith("postgresql")
    db = Path(args.db) if args.db and not postgresql else gen_calls.default_db(rows, args.seed)
    if not db.exists():
        gen_calls.generate(db, rows, seed=args.seed)
    print("picking filter values from the database ...", flush=True)
    samples = pick_samples(db)
    served: Path | str = db
    if postgresql:
        served = url_ = str(args.db)
        if pg_copy.count_calls(url_) != samples.rows:
            print(f"copying {db} into PostgreSQL ...", flush=True)
            print(f"  {pg_copy.fill(db, url_)}", flush=True)
    command = args.wiretrace_cmd.split()
    RESULTS.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-query-"))
    load_before = os.getloadavg()
    cases: list[Case] = []
    print(f"starting wiretrace on {served} ...", flush=True)
    server = start_server(command, served, workdir, 900)
    client = Client(server.port, 300)
    rss_idle = read_rss(server.pid)
    try:
        cases += run_calls(client, samples, opt)
        cases += run_traces(client, samples, opt)
        cases += run_stats(client, samples, opt)
        cases += run_dashboard(client, samples, opt)
        for fmt in ("jsonl", "csv"):
            cases.append(run_export(client, server, samples, fmt, opt))
        rss_end = read_rss(server.pid)
        if server.proc.poll() is not None:
            raise BenchError(f"wiretrace died during the run:\n{server.log_tail()}")
    finally:
        client.close()
        stop_server(server)
    for case in cases:
        if case.group == "export" and case.name.startswith("export csv") and case.result:
            case.limit_ms = None  # CSV: informative, the target is stated for JSONL
            if case.result in (PASS, MISS):
                case.result = INFO
    if not args.no_explain and not postgresql:  # the EXPLAIN pass reads SQLite's plans
        explain_misses(cases, command, db, workdir)
    facts = database_facts(db) if not postgresql else pg_copy.database_facts(str(served))
    print_table(cases, facts, samples)
    if all(c.result in (MISSING, ERROR, REFUSED) for c in cases if c.group == "calls"):
        raise BenchError("no /api/calls request succeeded")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = RESULTS / f"query-{stamp}.json"
    report = {
        "when": datetime.now(UTC).isoformat(),
        "git": git_head(),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg(),
        },
        "options": asdict(opt),
        "database": facts,
        "samples": asdict(samples),
        "server_rss_mib": {"idle": rss_idle / MIB, "end": rss_end / MIB},
        "targets": {
            "page_p50_ms": TARGET_PAGE_MS,
            "trace_p50_ms": TARGET_TRACE_MS,
            "stats_model_p50_ms": TARGET_STATS_MS,
            "export_calls_per_s": TARGET_EXPORT_RATE,
            "export_rss_growth_mib": TARGET_EXPORT_GROWTH_MIB,
        },
        "cases": [c.to_json() for c in cases],
    }
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nwrote {out}")
    if not args.keep:
        for leftover in workdir.iterdir():
            leftover.unlink()
        workdir.rmdir()
    else:
        print(f"server logs in {workdir}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench-query: {exc}", file=sys.stderr)
        sys.exit(1)
