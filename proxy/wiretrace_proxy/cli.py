"""``wiretrace``: the argparse root; each command lives in ``commands/`` with a ``register``.

Every setting flag also reads ``WIRETRACE_<NAME>`` (``settings.OPTIONS`` pairs them).
Start-up problems (a bad flag or variable, a database URL wiretrace cannot use, a database
that cannot be opened, a port in use) end with one line on stderr and a non-zero exit,
never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from wiretrace_proxy import __version__
from wiretrace_proxy.commands import intercept, purge, replay, reprice, serve
from wiretrace_proxy.commands.options import HelpFormatter


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wiretrace",
        description="Record the calls an app makes to an OpenAI-compatible API.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"wiretrace {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve.register(commands)
    reprice.register(commands)
    purge.register(commands)
    intercept.register(commands)
    replay.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # Unknown options reach the root parser, which would answer with its own usage; the
    # command's usage is the one that lists what the user can type instead.
    args, extras = parser.parse_known_args(argv)
    command: argparse.ArgumentParser = args.command_parser
    if extras:
        command.error(f"unrecognized arguments: {' '.join(extras)}")
    try:
        code: int = args.run(command, args)
    except KeyboardInterrupt:  # Ctrl-C before the server's own handler is installed
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
