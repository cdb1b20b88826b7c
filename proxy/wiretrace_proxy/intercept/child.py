"""Start and stop the mitmdump child that is intercept mode's proxy.

The child gets its secrets in its environment (argv is readable by every local user),
reports its address on a pipe of its own once it listens, and holds the read end of a
pipe whose write end only the server has: when the server exits, however it exits, the
pipe closes and the child stops (``addon._exit_with_parent``), so it is never orphaned.
A clean stop terminates it and kills it if it lingers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from wiretrace_proxy.errors import ConfigError
from wiretrace_proxy.intercept import hosts
from wiretrace_proxy.intercept import intercept_protocol as protocol
from wiretrace_proxy.settings import Settings

log = logging.getLogger(__name__)

ADDON = Path(__file__).with_name("addon.py")

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 3.0


@dataclass(slots=True)
class InterceptChild:
    """A running mitmdump child and the address it listens on."""

    process: subprocess.Popen[bytes]
    host: str
    port: int

    async def stop(self) -> None:
        """Close its pipe (it stops itself), terminate it after ``STOP_TIMEOUT``, kill it
        after another; always reaped."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        for end in (self.process.terminate, self.process.kill):
            try:
                await asyncio.to_thread(self.process.wait, STOP_TIMEOUT)
                return
            except subprocess.TimeoutExpired:
                end()
        await asyncio.to_thread(self.process.wait)


def command(mitmdump: Path, settings: Settings, confdir: Path, server: str, port: int) -> list[str]:
    """The mitmdump command line (no secrets in it)."""
    return [
        str(mitmdump),
        "--quiet",
        "--listen-host",
        settings.host,
        "--listen-port",
        str(port),
        "--set",
        f"confdir={confdir}",
        "--set",
        "connection_strategy=lazy",  # no dial (nor DNS) before the request says where to
        "--set",
        "stream_large_bodies=1m",  # big uploads stream; responses always do (the addon)
        "--allow-hosts",
        hosts.allow_hosts(settings.llm_hosts),
        "--scripts",
        str(ADDON),
        "--set",
        f"wiretrace_server={server}",
    ]


async def start(
    mitmdump: Path, settings: Settings, confdir: Path, server: str, secret: str
) -> InterceptChild:
    """Start mitmdump and wait until it listens; ConfigError with its reason if it cannot."""
    assert settings.intercept_port is not None
    argv = command(mitmdump, settings, confdir, server, settings.intercept_port)
    ready_read, ready_write = os.pipe()
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("https_proxy", "http_proxy")}
    env.update({protocol.SECRET_ENV: secret, protocol.READY_FD_ENV: str(ready_write)})
    if settings.intercept_token:
        env[protocol.TOKEN_ENV] = settings.intercept_token
    try:
        process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, pass_fds=(ready_write,), env=env, close_fds=True
        )
    except OSError as exc:
        os.close(ready_read)
        raise ConfigError(f"intercept mode: cannot run {mitmdump}: {exc}") from exc
    finally:
        os.close(ready_write)
    try:
        line = await asyncio.to_thread(_read_ready, ready_read, process)
    finally:
        os.close(ready_read)
    if not line.startswith(protocol.READY):
        child = InterceptChild(process, settings.host, settings.intercept_port)
        await child.stop()
        raise ConfigError(
            f"intercept mode: mitmdump did not start on {settings.host}:"
            f"{settings.intercept_port} (exit status {process.returncode}; its error is above)"
        )
    host, _, port = line.removeprefix(protocol.READY).strip().rpartition(":")
    return InterceptChild(process, host, int(port))


def _read_ready(fd: int, process: subprocess.Popen[bytes]) -> str:
    """The child's ready line, or "" if it exits or stays silent too long."""
    deadline = time.monotonic() + READY_TIMEOUT
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            return ""
        readable, _, _ = select.select([fd], [], [], min(left, 0.5))
        if not readable:
            if process.poll() is not None:
                return ""
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            return ""
        data += chunk
    return data.decode(errors="replace").partition("\n")[0]
