"""``make bench-intercept``: what intercept mode costs a call, next to the reverse proxy.

One fake upstream (``upstream_server.py``) and one ``wiretrace serve --intercept`` with
``--route api.openai.com=<the fake>``, each in its own process on 127.0.0.1. A keep-alive
httpx client makes the same calls, one at a time, three ways: straight to the fake
(direct), through the reverse proxy (``/v1``), and to ``https://api.openai.com`` through the
intercept proxy with the environment ``wiretrace intercept env`` prints (the real TLS
handshake with mitmproxy's CA, decryption, the hop to the server). Prints the median and
95th percentile of non-streamed latency and of a stream's time to first and last chunk.
Bounded: ``--calls`` calls per path and phase, loopback only.
"""

from __future__ import annotations

import argparse
import functools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
HEADERS = {"Authorization": "Bearer sk-bench-1234567890abcdef", "X-Bench-Chunks": "20"}


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


@contextmanager
def servers(directory: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(direct URL, reverse proxy URL, intercept environment) while both servers run."""
    upstream_port, port, intercept_port = free_port(), free_port(), free_port()
    upstream = subprocess.Popen(
        [sys.executable, str(HERE / "upstream_server.py"), "--port", str(upstream_port)],
        stdout=subprocess.DEVNULL,
    )
    fake = f"http://127.0.0.1:{upstream_port}"
    wiretrace = [sys.executable, "-m", "wiretrace_proxy.cli"]
    env = {**os.environ, "XDG_DATA_HOME": str(directory / "data")}
    server = subprocess.Popen(
        [
            *wiretrace,
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
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        env=env,
    )
    try:
        wait_port(upstream_port, upstream)
        wait_port(intercept_port, server)
        printed = subprocess.run(
            [*wiretrace, "intercept", "env", "--intercept", str(intercept_port)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout
        values = {}
        for line in printed.splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            values[name] = value.strip("'")
        yield fake, f"http://127.0.0.1:{port}", values
    finally:
        for process in (server, upstream):
            process.terminate()
            process.wait(30)


def timed(calls: int, one: Callable[[], tuple[float, float]]) -> tuple[list[float], list[float]]:
    for _ in range(min(20, calls)):  # warm-up: connections, TLS sessions, leaf certificates
        one()
    firsts, totals = [], []
    for _ in range(calls):
        first, total = one()
        firsts.append(first)
        totals.append(total)
    return firsts, totals


def call(client: httpx.Client, url: str, stream: bool) -> tuple[float, float]:
    start = time.perf_counter()
    first = None
    body = {**BODY, "stream": True} if stream else BODY
    with client.stream("POST", url, json=body, headers=HEADERS) as response:
        for _ in response.iter_raw():
            first = first or time.perf_counter()
        assert response.status_code == 200, response.status_code
    end = time.perf_counter()
    return ((first or end) - start) * 1000, (end - start) * 1000


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"{statistics.median(ordered):7.2f} {p95:7.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--calls", type=int, default=200, help="calls per path and phase")
    calls = parser.parse_args().calls
    with tempfile.TemporaryDirectory() as tmp, servers(Path(tmp)) as (fake, proxy, env):
        proxied = httpx.Client(proxy=env["HTTPS_PROXY"], verify=env["SSL_CERT_FILE"])
        paths = {
            "direct": (httpx.Client(), fake + "/v1/chat/completions"),
            "reverse proxy": (httpx.Client(), proxy + "/v1/chat/completions"),
            "intercept": (proxied, "https://api.openai.com/v1/chat/completions"),
        }
        print(f"{calls} calls per row, one at a time; milliseconds, median and p95")
        print(f"{'path':14} {'plain':>15} {'stream first':>15} {'stream last':>15}")
        for name, (client, url) in paths.items():
            _, plain = timed(calls, functools.partial(call, client, url, False))
            first, last = timed(calls, functools.partial(call, client, url, True))
            print(f"{name:14} {summary(plain)} {summary(first)} {summary(last)}")
            client.close()


if __name__ == "__main__":
    main()
