"""``make bench-intercept``: what intercept mode costs a call, next to a bare ``mitmdump``.

One fake upstream over TLS (``tls_upstream.py``, a trustme certificate for
``api.openai.com`` and 127.0.0.1), and three proxies in front of it, each its own process
on 127.0.0.1:

- **mitmdump**: a bare ``mitmdump`` from intercept mode's virtualenv (``--mitmdump``, else
  the one ``wiretrace serve`` would run), no script, decrypting the same hosts, streaming
  as the child does, sent on to the fake by its own ``map_remote`` and verifying the fake's
  certificate: what mitmproxy costs alone;
- **intercept**: ``wiretrace serve --intercept`` with ``--route api.openai.com=<the fake>``
  (its mitmdump child and the server, which records every call);
- **reverse proxy**: the same server's ``/v1``, ``--upstream`` the fake.

A keep-alive httpx client makes the same calls, one at a time, straight to the fake
(direct), through the reverse proxy, and to ``https://api.openai.com`` through each
forward proxy. Per path it prints the CPU time its processes spent per call (``psutil``:
user + system, read before and after the timed calls; for intercept the server and its
mitmdump child together), the latency's median and 99th percentile, and for streams each
chunk's delay from the fake's write to the client's read (p99); then intercept's figures
as ratios to the bare mitmdump's. ``--rounds`` repeats the whole measurement: each figure
is the median of the rounds, with their range. Bounded: ``--calls`` calls per path, phase
and round, loopback only.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import trustme
from wiretrace_proxy.errors import ConfigError
from wiretrace_proxy.intercept.hosts import allow_hosts
from wiretrace_proxy.intercept.install import find_mitmdump

HERE = Path(__file__).resolve().parent
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
HEADERS = {"Authorization": "Bearer sk-bench-1234567890abcdef", "X-Bench-Chunks": "20"}
CREATED_NS = re.compile(rb'"created_ns":(\d+)')
SETTLE_S = 0.3
"""Pause after a path's calls before its CPU is read: the writer stores the last records."""
BASELINE = "mitmdump"
PHASES = ("plain", "stream")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"a server did not start: {process.args!r}") from None
            time.sleep(0.05)


@dataclass
class Path_:
    """One way to make the call: its client, its URL, the processes it costs."""

    name: str
    client: httpx.Client
    url: str
    processes: list[psutil.Process]


@contextmanager
def started(argv: Sequence[str], port: int, env: dict[str, str] | None = None) -> Iterator[int]:
    """``argv`` running until the block ends, once ``port`` accepts; yields its pid."""
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, env=env)
    try:
        wait_port(port, process)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def tls_upstream(directory: Path, stack: ExitStack) -> tuple[str, Path]:
    """The fake over TLS: its URL and the CA file that verifies it."""
    ca = trustme.CA()
    leaf = ca.issue_cert("api.openai.com", "127.0.0.1")
    cert, key, ca_file = directory / "leaf.pem", directory / "leaf-key.pem", directory / "ca.pem"
    leaf.private_key_pem.write_to_path(str(key))
    with cert.open("wb") as out:
        for blob in leaf.cert_chain_pems:
            out.write(blob.bytes())
    ca.cert_pem.write_to_path(str(ca_file))
    port = free_port()
    argv = [sys.executable, str(HERE / "tls_upstream.py"), "--cert", str(cert), "--key", str(key)]
    stack.enter_context(started([*argv, "--port", str(port)], port))
    return f"https://127.0.0.1:{port}", ca_file


def bare_mitmdump(
    mitmdump: Path, directory: Path, fake: str, ca_file: Path, stack: ExitStack
) -> Path_:
    """mitmdump alone, configured like intercept mode's child but with no script."""
    port, confdir = free_port(), directory / "bare-mitmdump"
    argv = [
        str(mitmdump),
        "--quiet",
        "--listen-host",
        "127.0.0.1",
        "--listen-port",
        str(port),
        "--set",
        f"confdir={confdir}",
        "--set",
        "connection_strategy=lazy",
        "--set",
        "stream_large_bodies=1m",  # as the child: streams (chunked) stream, small bodies not
        "--allow-hosts",
        allow_hosts(),
        "--map-remote",
        rf"|^https://api\.openai\.com(:443)?/|{fake}/",
        "--set",
        f"ssl_verify_upstream_trusted_ca={ca_file}",
    ]
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("https_proxy", "http_proxy")}
    pid = stack.enter_context(started(argv, port, env))
    client = httpx.Client(
        proxy=f"http://127.0.0.1:{port}", verify=str(confdir / "mitmproxy-ca-cert.pem")
    )
    stack.callback(client.close)
    return Path_(BASELINE, client, "https://api.openai.com", [psutil.Process(pid)])


def wiretrace(directory: Path, fake: str, ca_file: Path, stack: ExitStack) -> list[Path_]:
    """``wiretrace serve --intercept``: its reverse proxy and its intercept proxy."""
    port, intercept_port = free_port(), free_port()
    command = [sys.executable, "-m", "wiretrace_proxy.cli"]
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(directory / "data"),
        "SSL_CERT_FILE": str(ca_file),  # the reverse proxy's upstream is the fake too
    }
    argv = [
        *command,
        "serve",
        "--port",
        str(port),
        "--upstream",
        fake,
        "--db",
        str(directory / "calls.db"),
        "--intercept",
        str(intercept_port),
        "--route",
        f"api.openai.com={fake}",
        "--route-ca",
        str(ca_file),
        "--log-level",
        "warning",
    ]
    server = psutil.Process(stack.enter_context(started(argv, intercept_port, env)))
    printed = subprocess.run(
        [*command, "intercept", "env", "--intercept", str(intercept_port)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    values: dict[str, str] = {}
    for line in printed.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        values[name] = value.strip("'")
    reverse = httpx.Client()
    proxied = httpx.Client(proxy=values["HTTPS_PROXY"], verify=values["SSL_CERT_FILE"])
    stack.callback(reverse.close)
    stack.callback(proxied.close)
    (child,) = [p for p in server.children() if "mitmdump" in " ".join(p.cmdline())]
    everything = [server, child]
    return [
        Path_("reverse proxy", reverse, f"http://127.0.0.1:{port}", [server]),
        Path_("intercept", proxied, "https://api.openai.com", everything),
    ]


@dataclass
class Sample:
    """One path's figures for one phase of one round."""

    cpu_ms: float
    """CPU time of the path's processes per call."""
    cpu_ms_by_process: list[float]
    """The same, per process (for intercept: the server, then its mitmdump child)."""
    latencies: list[float]
    chunk_delays: list[float]
    """Each stream chunk's milliseconds from the fake's write to the client's read."""


def call(path: Path_, stream: bool, delays: list[float]) -> float:
    """One call's latency in ms (to the last byte); stream chunk delays into ``delays``."""
    body = {**BODY, "stream": True} if stream else BODY
    start = time.perf_counter()
    url = path.url + "/v1/chat/completions"
    with path.client.stream("POST", url, json=body, headers=HEADERS) as response:
        if response.status_code != 200:
            raise SystemExit(f"{path.name}: {response.status_code} {response.read()[:300]!r}")
        for raw in response.iter_raw():
            now = time.time_ns()
            delays += [(now - int(sent)) / 1e6 for sent in CREATED_NS.findall(raw)]
    return (time.perf_counter() - start) * 1000


def cpu_seconds(processes: Sequence[psutil.Process]) -> list[float]:
    """Each process's CPU time so far (user + system)."""
    return [sum(process.cpu_times()[:2]) for process in processes]


def measure(path: Path_, stream: bool, calls: int) -> Sample:
    for _ in range(min(20, calls)):  # warm-up: connections, TLS sessions, leaf certificates
        call(path, stream, [])
    delays: list[float] = []
    before = cpu_seconds(path.processes)
    latencies = [call(path, stream, delays) for _ in range(calls)]
    time.sleep(SETTLE_S)
    spent = [
        (b - a) * 1000 / calls for a, b in zip(before, cpu_seconds(path.processes), strict=True)
    ]
    return Sample(sum(spent), spent, latencies, delays)


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(len(ordered) * fraction) - 1))]


def spread(values: Sequence[float], width: int = 6) -> str:
    """The median of the rounds and their range: ``12.30 [11.90-13.10]``."""
    return f"{statistics.median(values):{width}.2f} [{min(values):.2f}-{max(values):.2f}]"


FIGURES: dict[str, Callable[[Sample], float]] = {
    "cpu ms/call": lambda s: s.cpu_ms,
    "p50 ms": lambda s: statistics.median(s.latencies),
    "p99 ms": lambda s: percentile(s.latencies, 0.99),
    "chunk p99 ms": lambda s: percentile(s.chunk_delays, 0.99) if s.chunk_delays else 0.0,
}


def report(rounds: list[dict[str, dict[str, Sample]]], phase: str) -> None:
    names = list(rounds[0][phase])
    figures = [f for f in FIGURES if phase == "stream" or not f.startswith("chunk")]
    print(f"\n{phase}: median of {len(rounds)} rounds [min-max]")
    print(f"{'path':14} " + " ".join(f"{figure:>24}" for figure in figures))
    for name in names:
        cells = [spread([FIGURES[f](r[phase][name]) for r in rounds]) for f in figures]
        print(f"{name:14} " + " ".join(f"{cell:>24}" for cell in cells))
    for figure in figures[:3]:
        ratios = [
            FIGURES[figure](r[phase]["intercept"]) / FIGURES[figure](r[phase][BASELINE])
            for r in rounds
        ]
        target = "  (target at most 1.30)" if figure.startswith("cpu") else ""
        print(f"intercept / {BASELINE} {figure:12} {spread(ratios, 5)}{target}")
    server, child = ([r[phase]["intercept"].cpu_ms_by_process[i] for r in rounds] for i in (0, 1))
    print(f"intercept cpu ms/call: server {spread(server, 5)}, mitmdump child {spread(child, 5)}")
    if phase == "stream":
        extra = [
            FIGURES["chunk p99 ms"](r[phase]["intercept"])
            - FIGURES["chunk p99 ms"](r[phase]["reverse proxy"])
            for r in rounds
        ]
        print(f"intercept chunk p99 over the reverse proxy's {spread(extra, 5)} ms (target 2)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--calls", type=int, default=200, help="calls per path and phase")
    parser.add_argument("--rounds", type=int, default=3, help="times the whole run repeats")
    parser.add_argument("--mitmdump", help="the bare mitmdump (default: intercept mode's)")
    args = parser.parse_args()
    try:
        mitmdump = find_mitmdump(args.mitmdump or os.environ.get("WIRETRACE_MITMDUMP"))
    except ConfigError as exc:
        raise SystemExit(f"bench-intercept: {exc}") from None
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        directory = Path(tmp)
        fake, ca_file = tls_upstream(directory, stack)
        direct = httpx.Client(verify=str(ca_file))
        stack.callback(direct.close)
        paths = [
            Path_("direct", direct, fake, []),
            bare_mitmdump(mitmdump, directory, fake, ca_file, stack),
            *wiretrace(directory, fake, ca_file, stack),
        ]
        print(f"{args.calls} calls per path, phase and round, one at a time; load {_load()}")
        rounds: list[dict[str, dict[str, Sample]]] = []
        for _ in range(args.rounds):
            rounds.append(
                {
                    phase: {p.name: measure(p, phase == "stream", args.calls) for p in paths}
                    for phase in PHASES
                }
            )
        for phase in PHASES:
            report(rounds, phase)
        print(f"load at the end {_load()}")


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
