"""``wiretrace serve``: run the recording proxy, its API and the web UI until stopped.

Every setting is a flag (``settings.OPTIONS``), each also read from its ``WIRETRACE_*``
variable. Everything that can be checked is checked before the server starts, so a
mistake ends in one line on stderr (exit 2), never a traceback; a database that cannot be
opened or written (a read-only file) or a port in use ends the same way with exit 1, and so
does a stop that leaves records unstored (one error line counts them).
"""

from __future__ import annotations

import argparse
import sys

from wiretrace_proxy.commands.flags import OPTIONS
from wiretrace_proxy.commands.options import (
    HelpFormatter,
    Subparsers,
    add_settings,
    check_settings,
    configure_logging,
    fail,
    settings_from_args,
)
from wiretrace_proxy.errors import ConfigError, WiretraceError
from wiretrace_proxy.settings import Settings

__all__ = ["FIELDS", "register", "run"]

FIELDS = tuple(option.field for option in OPTIONS)
"""serve takes every setting."""

DESCRIPTION = (
    "Record every call an OpenAI-compatible client makes: point the app's base URL at "
    "this proxy, which forwards each call to --upstream and stores it, with a JSON API and "
    "a web UI on the same port. Each option can also be set by the variable named in "
    "brackets; a flag wins over its variable. Stop with Ctrl-C or SIGTERM: in-flight calls "
    "finish and every record is stored, within --drain-timeout; exit status 1 says records "
    "were left unstored."
)


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the recording proxy, API and UI",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    add_settings(parser, FIELDS)
    parser.set_defaults(run=run, command_parser=parser)


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    check_settings(parser, args)
    settings = settings_from_args(args, FIELDS)
    check_access(parser, settings)
    configure_logging(settings.log_level, "%(asctime)s %(levelname)s %(name)s: %(message)s")
    from wiretrace_proxy.server import serve  # imported late: `wiretrace --help` stays fast

    try:
        return serve(settings)  # 1 when records were left unstored (logged, counted)
    except WiretraceError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(
            f"{parser.prog}: error: cannot listen on {settings.host}:{settings.port}: "
            f"{exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1


def check_access(parser: argparse.ArgumentParser, settings: Settings) -> None:
    """Refuse, before anything starts: a token file that cannot be read, or an address
    beyond loopback with no token, for the server or for the intercept proxy (unless
    ``--insecure-no-auth``)."""
    from wiretrace_proxy.access.binding import unprotected_bind
    from wiretrace_proxy.access.state import load_access
    from wiretrace_proxy.intercept.binding import unprotected_intercept

    try:
        load_access(settings)
    except ConfigError as exc:
        fail(parser, f"--auth-token-file/WIRETRACE_AUTH_TOKEN_FILE: {exc}")
    if (reason := unprotected_bind(settings)) is not None:
        fail(parser, reason)
    if (reason := unprotected_intercept(settings)) is not None:
        fail(parser, reason)
