"""Benchmark of ``wiretrace.Evaluation``: rows per second, and the SDK's own time per row.

Run: ``.venv/bin/python bench/bench_eval.py [--rows 10000] [--parallelism 10]``. It starts
the fake upstream (``upstream_server.py``) and a real ``wiretrace serve`` (temporary SQLite
file) as processes of their own on 127.0.0.1, then, in this process:

1. **instant**: a model op that returns at once and one scorer op, over ``--rows`` rows.
   The SDK's time per row is the CPU time this process spends on the evaluation (its
   threads included: the pool, the span exporter, the row reporter) minus the CPU time of
   the same model and scorer ops called in a plain loop (their spans sent too), divided by
   the rows: what the evaluation machinery adds (binding, the row's span, the summary, the
   background reports). Target: at most 1 ms per row. Rows per second is wall time to the
   end of the run, which includes waiting for the server to store the last rows.
2. **proxied**: the model makes one real ``openai`` call per row through the proxy (tagged
   with the row's headers), rows per second at ``--parallelism``.

Prints one table; the exit status is non-zero only when the benchmark itself broke.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import openai
import wiretrace

HERE = Path(__file__).resolve().parent
TARGET_MS_PER_ROW = 1.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_upstream() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "upstream_server.py"), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if not line or line[0] != "READY":
        raise SystemExit(f"the fake upstream did not start: {line}")
    return proc, f"http://127.0.0.1:{line[1]}"


def start_server(upstream: str, db: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    wiretrace_cli = Path(sys.executable).with_name("wiretrace")
    proc = subprocess.Popen(
        [str(wiretrace_cli), "serve", "--port", str(port), "--upstream", upstream],
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


def instant(rows: list[dict[str, Any]], parallelism: int, url: str) -> dict[str, float]:
    @wiretrace.op
    def model(question: str) -> str:
        return question

    @wiretrace.op
    def exact(target: str, output: str) -> bool:
        return output == target

    cpu = time.process_time()
    for row in rows:
        exact(row["target"], model(row["question"]))
    wiretrace.finish(120)  # the spans of the loop are sent before the evaluation starts
    direct = time.process_time() - cpu

    evaluation = wiretrace.Evaluation(
        name="bench-instant",
        dataset=wiretrace.Dataset(name="bench", rows=rows),
        scorers=[exact],
        parallelism=parallelism,
    )
    started, cpu = time.perf_counter(), time.process_time()
    summary = evaluation.run(model)
    wiretrace.finish(120)
    wall, used = time.perf_counter() - started, time.process_time() - cpu
    assert summary["n_ok"] == len(rows), summary
    run = wiretrace.client(url).get(f"/api/evaluations/runs/{evaluation.run_id}")
    return {
        "stored": float(run["n_done"]) if isinstance(run, dict) else 0.0,
        "rows_per_s": len(rows) / wall,
        "direct_ms_per_row": direct / len(rows) * 1000,
        "sdk_ms_per_row": max(used - direct, 0.0) / len(rows) * 1000,
    }


def proxied(rows: list[dict[str, Any]], parallelism: int) -> dict[str, float]:
    client = openai.OpenAI(api_key="sk-bench-0000000000000000", max_retries=0)

    @wiretrace.op
    def ask(question: str) -> str:
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": question}]
        )
        return str(reply.choices[0].message.content)

    evaluation = wiretrace.Evaluation(
        name="bench-proxied",
        dataset=wiretrace.Dataset(name="bench-proxied", rows=rows),
        parallelism=parallelism,
    )
    started = time.perf_counter()
    summary = evaluation.run(ask)
    wall = time.perf_counter() - started
    client.close()
    assert summary["n_ok"] == len(rows), summary
    return {"rows_per_s": len(rows) / wall, "ms_per_row": wall / len(rows) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--parallelism", type=int, default=10)
    args = parser.parse_args()
    os.environ["WIRETRACE_QUIET"] = "1"
    rows = [{"question": f"q{i}", "target": f"q{i}"} for i in range(args.rows)]
    upstream, upstream_url = start_upstream()
    with tempfile.TemporaryDirectory() as tmp:
        server, url = start_server(upstream_url, Path(tmp) / "bench.db")
        try:
            wiretrace.init(project="bench", url=url)
            fast = instant(rows, args.parallelism, url)
            wired = proxied(rows, args.parallelism)
            wiretrace.finish(30)
        finally:
            server.terminate()
            server.wait(30)
            upstream.terminate()
            upstream.wait(10)
    verdict = "PASS" if fast["sdk_ms_per_row"] <= TARGET_MS_PER_ROW else "MISS"
    status = wiretrace.status()
    print(
        f"rows: {args.rows}, parallelism: {args.parallelism} "
        f"(spans sent {status.spans_sent}, dropped {status.spans_dropped})"
    )
    print(
        f"instant model: {fast['rows_per_s']:8.0f} rows/s; model+scorer ops alone "
        f"{fast['direct_ms_per_row']:.3f} ms CPU/row; SDK's own CPU time "
        f"{fast['sdk_ms_per_row']:.3f} ms/row (target <= {TARGET_MS_PER_ROW} ms: {verdict}); "
        f"rows stored by the server: {fast['stored']:.0f}"
    )
    print(
        f"one proxied call per row: {wired['rows_per_s']:8.0f} rows/s "
        f"({wired['ms_per_row']:.2f} ms/row)"
    )


if __name__ == "__main__":
    main()
