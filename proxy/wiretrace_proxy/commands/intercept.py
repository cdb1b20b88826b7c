"""``wiretrace intercept install|env|run|ca``: put an app behind the intercept proxy.

``install`` puts mitmproxy into a virtualenv of its own; ``env`` prints the ``export``
lines (``eval "$(wiretrace intercept env)"``); ``run -- CMD`` runs CMD with them, starting
``wiretrace serve --intercept`` first when no proxy answers on the port (and stopping it
after), and exits with CMD's status; ``ca`` prints the CA's path and SHA-256 fingerprint.
The CA is created on first use.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import IO

from wiretrace_proxy.commands import serve
from wiretrace_proxy.commands.flags import OPTION_BY_FIELD
from wiretrace_proxy.commands.options import (
    HelpFormatter,
    Subparsers,
    add_settings,
    check_settings,
    fail,
    settings_from_args,
)
from wiretrace_proxy.errors import ConfigError
from wiretrace_proxy.intercept.ca import CaFiles, ensure_ca, fingerprint
from wiretrace_proxy.intercept.environment import export_lines, proxy_url, variables
from wiretrace_proxy.intercept.install import (
    best_python,
    find_mitmdump,
    install_venv,
    intercept_dir,
    interpreter_of,
)
from wiretrace_proxy.settings import DEFAULT_INTERCEPT_PORT, Settings

__all__ = ["register"]

ENV_FIELDS = ("host", "intercept_port", "intercept_token", "mitmdump")
"""What ``env`` and ``ca`` read: where the proxy listens, its token, its install."""
SERVER_START_TIMEOUT = 60.0


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "intercept",
        help="run an app behind the intercept proxy (HTTPS_PROXY)",
        description="Record an app's LLM calls with no base URL change: its HTTPS calls "
        "go through wiretrace's intercept proxy, which decrypts only LLM API hosts.",
        formatter_class=HelpFormatter,
    )
    parser.set_defaults(command_parser=parser, run=lambda p, a: p.error("choose a command"))
    commands = parser.add_subparsers(dest="intercept_command", metavar="COMMAND")
    env = commands.add_parser(
        "env",
        help='print the export lines: eval "$(wiretrace intercept env)"',
        formatter_class=HelpFormatter,
    )
    add_settings(env, ENV_FIELDS)
    env.set_defaults(run=run_env, command_parser=env)
    ca = commands.add_parser(
        "ca", help="print the CA certificate's path and fingerprint", formatter_class=HelpFormatter
    )
    add_settings(ca, ENV_FIELDS)
    ca.set_defaults(run=run_ca, command_parser=ca)
    install = commands.add_parser(
        "install",
        help="install mitmproxy for intercept mode, in a virtualenv of its own",
        description="Create intercept mode's virtualenv in wiretrace's data directory and "
        "install mitmproxy there (never into wiretrace's own environment: its pins "
        "conflict with wiretrace's dependencies).",
        formatter_class=HelpFormatter,
    )
    install.add_argument(
        "--python",
        metavar="PATH",
        help="the interpreter (default: python3.13, python3.12, else this one)",
    )
    install.set_defaults(run=run_install, command_parser=install)
    run = commands.add_parser(
        "run",
        help="run CMD behind the proxy (starting a server if none answers)",
        description="Run CMD with the intercept environment. When no proxy answers on "
        "--intercept's port, a `wiretrace serve --intercept` with these options is started "
        "first and stopped after. Exits with CMD's status.",
        formatter_class=HelpFormatter,
    )
    add_settings(run, serve.FIELDS)
    run.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD ARGS", help="the command")
    run.set_defaults(run=run_command, command_parser=run)


def _settings(
    parser: argparse.ArgumentParser, args: argparse.Namespace, fields: Sequence[str]
) -> Settings:
    check_settings(parser, args)
    settings = settings_from_args(args, fields)
    if settings.intercept_port is None:
        settings = _with_port(settings, DEFAULT_INTERCEPT_PORT)
    return settings


def _with_port(settings: Settings, port: int) -> Settings:
    import dataclasses

    return dataclasses.replace(settings, intercept_port=port)


def _ca_files(parser: argparse.ArgumentParser, settings: Settings) -> CaFiles:
    try:
        mitmdump = find_mitmdump(settings.mitmdump)
        return ensure_ca(intercept_dir(), interpreter_of(mitmdump))
    except ConfigError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def _environment(parser: argparse.ArgumentParser, settings: Settings) -> dict[str, str]:
    files = _ca_files(parser, settings)
    assert settings.intercept_port is not None
    url = proxy_url(settings.host, settings.intercept_port, settings.intercept_token)
    return variables(url, files)


def run_env(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    settings = _settings(parser, args, ENV_FIELDS)
    print("\n".join(export_lines(_environment(parser, settings))))
    return 0


def run_ca(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    files = _ca_files(parser, _settings(parser, args, ENV_FIELDS))
    print(files.cert)
    print(f"SHA-256 {fingerprint(files.cert)}")
    return 0


def run_install(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    venv = intercept_dir() / "venv"
    python = args.python or best_python()
    print(f"installing mitmproxy with {python} into {venv}", file=sys.stderr)
    try:
        mitmdump = install_venv(python, venv)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 1
    print(mitmdump)
    return 0


def run_command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    cmd = list(args.cmd)
    if cmd[:1] == ["--"]:
        cmd = cmd[1:]
    if not cmd:
        fail(parser, "name the command to run: wiretrace intercept run -- CMD ARGS")
    settings = _settings(parser, args, serve.FIELDS)
    environ = {**os.environ, **_environment(parser, settings)}
    assert settings.intercept_port is not None
    server = None
    if not _answers(settings.host, settings.intercept_port):
        serve.check_access(parser, settings)  # the server's one-line refusals, not its log
        server = _start_server(parser, args, settings)
    try:
        try:
            return subprocess.call(cmd, env=environ)
        except OSError as exc:
            print(f"{parser.prog}: error: cannot run {cmd[0]}: {exc.strerror}", file=sys.stderr)
            return 127
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(settings.drain_timeout + 5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _answers(host: str, port: int) -> bool:
    """Something accepts connections on ``host:port`` (a proxy already running)."""
    target = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    try:
        with socket.create_connection((target, port), timeout=1):
            return True
    except OSError:
        return False


def _start_server(
    parser: argparse.ArgumentParser, args: argparse.Namespace, settings: Settings
) -> subprocess.Popen[bytes]:
    """``wiretrace serve --intercept`` with this command's settings, once its proxy
    answers; its output goes to a file shown only if it fails to start."""
    assert settings.intercept_port is not None
    argv = [sys.executable, "-m", "wiretrace_proxy.cli", "serve"]
    argv += ["--intercept", str(settings.intercept_port)]
    environ = {**os.environ, **_variables(parser, args)}
    log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - read back on failure
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=environ)
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while not _answers(settings.host, settings.intercept_port):
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace"))
            print(f"{parser.prog}: error: the intercept server did not start", file=sys.stderr)
            raise SystemExit(1)
        time.sleep(0.1)
    return process


def _variables(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, str]:
    """The ``WIRETRACE_*`` variables of the serve settings given as flags here, so the
    server reads the same values (as variables: secrets such as ``--intercept-token`` stay
    out of its command line, which other users can read)."""
    variables: dict[str, str] = {}
    for field in serve.FIELDS:
        value, default = getattr(args, field), parser.get_default(field)
        if field == "intercept_port" or value == default:
            continue
        option = OPTION_BY_FIELD[field]
        if isinstance(value, bool):
            variables[option.env] = "1" if value else "0"
        elif option.repeat:
            items = ("=".join(item) if isinstance(item, tuple) else str(item) for item in value)
            variables[option.env] = ",".join(items)
        else:
            variables[option.env] = str(value)
    return variables
