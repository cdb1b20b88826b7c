"""``make bench-eval``: ``GET /api/evaluations/compare`` of two 10,000-row runs.

Starts the real ``wiretrace serve`` on a fresh SQLite file (127.0.0.1, a free port, an
upstream nobody listens on), reports two runs of ``--rows`` rows each through the
evaluation API (a boolean scorer, a dict scorer with a number, a latency, 3% failed rows),
finishes them without a summary (the server computes it), then times the compare request
over one keep-alive connection: one warm-up, then ``--repeat`` timed requests. The target
is ``TARGET_S`` for the slowest of them (the whole request: reading both runs' rows,
summaries, three metrics' paired bootstraps of 1,000 resamples, the JSON answer). The
server's CPU time per request is printed too: on a machine shared with other work the
wall time says more about the load than about the code. Then, in headless Chromium, the
run page's and the compare page's first render (target ``TARGET_S`` each).

Prints the figures with PASS/MISS and writes ``bench/results/eval-compare-<timestamp>.json``.
A missed target is a finding: the exit status is non-zero only when the benchmark broke.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
TARGET_S = 1.0
BATCH = 1000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def request(conn: http.client.HTTPConnection, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if data else {}
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    payload = resp.read()
    if resp.status >= 300:
        raise RuntimeError(f"{method} {path}: {resp.status} {payload[:300]!r}")
    return json.loads(payload)


def rows_of(seed: int, n: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for index in range(n):
        row: dict[str, Any] = {"row_index": index, "inputs": {"question": f"q{index}"}}
        if rng.random() < 0.03:
            row["model_error"] = {"type": "APIError", "message": "rate limited"}
        else:
            row["output"] = f"answer {index}"
            row["scores"] = {
                "exact_match": rng.random() < 0.7,
                "judge": {"ratio": rng.random(), "label": "ok"},
            }
            row["latency_ms"] = rng.uniform(100, 900)
        rows.append(row)
    return rows


def report_run(conn: http.client.HTTPConnection, run_id: str, n: int, seed: int) -> float:
    """Create, fill and finish one run; seconds taken."""
    start = time.perf_counter()
    request(conn, "POST", "/api/evaluations/runs", {
        "id": run_id,
        "evaluation": {"name": "bench", "version": "1"},
        "dataset": {"name": "bench-set", "version": "1"},
        "model": {"name": run_id, "version": "1"},
        "scorers": [{"name": "exact_match", "version": "1"}, {"name": "judge", "version": "1"}],
        "trials": 1,
        "n_rows": n,
    })  # fmt: skip
    rows = rows_of(seed, n)
    for at in range(0, n, BATCH):
        request(
            conn, "POST", f"/api/evaluations/runs/{run_id}/rows", {"rows": rows[at : at + BATCH]}
        )
    request(conn, "POST", f"/api/evaluations/runs/{run_id}/finish", {"status": "finished"})
    return time.perf_counter() - start


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(db: Path, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    wiretrace = Path(sys.executable).with_name("wiretrace")
    argv = [str(wiretrace), "serve", "--host", HOST, "--port", str(port), "--db", str(db)]
    argv += ["--upstream", "http://127.0.0.1:9"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"wiretrace exited with {proc.returncode}: {log.read_text()[-2000:]}"
            )
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=5)
            conn.request("GET", "/healthz")
            ready = conn.getresponse().status == 200
            conn.close()
            if ready:
                return proc, port
        except OSError:
            pass
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGTERM)
    raise RuntimeError("wiretrace not ready after 60 s")


def first_renders(port: int) -> dict[str, float] | None:
    """Milliseconds from navigation to the run page's first rows and summary, and to the
    compare page's metrics table (real headless Chromium; None without Playwright or
    Chromium). Each page is loaded once to warm the browser's cache, then timed."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        return None
    base = f"http://{HOST}:{port}"
    pages = {
        "run_page_ms": ("/evaluations/run-1", "[data-testid=run-row-item]"),
        "compare_page_ms": (
            "/evaluations/compare?runs=run-1,run-2&baseline=run-1",
            "[data-testid=compare-metric]",
        ),
    }
    out: dict[str, float] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium))
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            for name, (path, ready) in pages.items():
                page.goto(base + path)
                page.wait_for_selector(ready, timeout=60_000)
                page.goto(base + "/healthz")
                start = time.perf_counter()
                page.goto(base + path)
                page.wait_for_selector(ready, timeout=60_000)
                out[name] = round((time.perf_counter() - start) * 1000, 1)
        finally:
            browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="rows per run")
    parser.add_argument("--repeat", type=int, default=5, help="timed compare requests")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="wiretrace-bench-eval-") as tmp:
        proc, port = start_server(Path(tmp) / "bench.db", Path(tmp) / "server.log")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=120)
            fill = [report_run(conn, f"run-{k}", args.rows, seed=k) for k in (1, 2)]
            path = "/api/evaluations/compare?runs=run-1,run-2&baseline=run-1"
            answer = request(conn, "GET", path)  # warm-up
            times, cpu = [], []
            for _ in range(args.repeat):
                start, cpu_start = time.perf_counter(), cpu_seconds(proc.pid)
                request(conn, "GET", path)
                times.append(time.perf_counter() - start)
                cpu.append(cpu_seconds(proc.pid) - cpu_start)
            conn.close()
            renders = first_renders(port)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
    worst = max(times)
    verdict = "PASS" if worst <= TARGET_S else "MISS"
    metrics = [m["metric"] for m in answer["metrics"]]
    print(f"compare of two {args.rows:,}-row runs ({len(metrics)} metrics: {', '.join(metrics)})")
    print(f"  median {statistics.median(times) * 1000:.0f} ms, max {worst * 1000:.0f} ms"
          f" over {args.repeat} requests; target {TARGET_S * 1000:.0f} ms: {verdict}")  # fmt: skip
    print(f"  server CPU per request: median {statistics.median(cpu) * 1000:.0f} ms,"
          f" max {max(cpu) * 1000:.0f} ms; load average {os.getloadavg()[0]:.1f}"
          f" on {os.cpu_count()} CPUs")  # fmt: skip
    print(f"  reporting each run (create, {args.rows // BATCH} row posts, finish):"
          f" {fill[0]:.1f} s, {fill[1]:.1f} s")  # fmt: skip
    if renders is None:
        print("  first renders: not measured (needs Playwright and /usr/bin/chromium)")
    else:
        for name, ms in renders.items():
            ok = "PASS" if ms <= TARGET_S * 1000 else "MISS"
            print(f"  {name.removesuffix('_ms').replace('_', ' ')} first render: {ms:.0f} ms; "
                  f"target {TARGET_S * 1000:.0f} ms: {ok}")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    result = {
        "benchmark": "eval-compare",
        "rows": args.rows,
        "metrics": metrics,
        "compare_s": times,
        "server_cpu_s": cpu,
        "load_average": os.getloadavg()[0],
        "target_s": TARGET_S,
        "verdict": verdict,
        "report_run_s": fill,
        "first_render_ms": renders,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    (RESULTS / f"eval-compare-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
