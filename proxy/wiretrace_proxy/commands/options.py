"""What the commands share: flags built from ``settings.OPTIONS``, and one-line errors.

Each flag's argparse default is its ``WIRETRACE_*`` variable's value when set, else the
built-in default. Why: a flag then wins over its variable with no code of ours, and
``--help`` shows the value in force. A variable's value is checked when the parser is
built, but reported only if that command runs, and by the variable's name
(``WIRETRACE_PORT=abc: not a port number``): the user never typed ``--port``.

Exit codes: 2 when the configuration is wrong (argparse's own code for a bad flag),
1 when it is right but something failed (a database that cannot be opened, a port in use).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import shlex
from collections.abc import Callable, Iterable, Mapping
from typing import NoReturn, TypeAlias

from wiretrace_proxy.commands.flags import OPTION_BY_FIELD
from wiretrace_proxy.errors import ConfigError
from wiretrace_proxy.settings import Settings

__all__ = [
    "HelpFormatter",
    "Subparsers",
    "add_settings",
    "check_settings",
    "configure_logging",
    "fail",
    "settings_from_args",
]

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""What ``add_subparsers`` returns: each command's ``register`` adds its parser to it."""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's default in ``--help``, except an unset one ("default: None" says
    nothing a reader can use)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        option = OPTION_BY_FIELD.get(action.dest)
        if action.default is None or action.default == () or (option and option.secret):
            return action.help  # nothing to show, or a token that must not be printed
        return super()._get_help_string(action)


def add_settings(
    parser: argparse.ArgumentParser,
    fields: Iterable[str],
    environ: Mapping[str, str] | None = None,
) -> None:
    """Add the flag of each named ``Settings`` field, defaulting to its variable."""
    env = os.environ if environ is None else environ
    problems: list[str] = []
    for field in fields:
        option = OPTION_BY_FIELD[field]
        default = option.default
        raw = env.get(option.env, "")
        if raw:  # an empty variable is unset, as in `WIRETRACE_PORT= wiretrace serve`
            try:
                default = _parse_variable(option.parse, raw, option.repeat)
            except ValueError as exc:
                shown = "<hidden>" if option.secret else shlex.quote(raw)
                problems.append(f"{option.env}={shown}: {exc}")
        text = f"{option.help} [{option.env}]"
        if option.repeat:
            parser.add_argument(
                option.flag,
                dest=field,
                action=_Repeated,
                type=_argument_type(option.parse, secret=option.secret),
                default=default,
                metavar=option.metavar,
                help=text,
            )
        elif option.const is not None:
            parser.add_argument(
                option.flag,
                dest=field,
                nargs="?",
                const=option.const,
                type=_argument_type(option.parse, secret=option.secret),
                default=default,
                metavar=option.metavar,
                help=text,
            )
        elif isinstance(option.default, bool):
            parser.add_argument(
                option.flag,
                dest=field,
                action=argparse.BooleanOptionalAction,
                default=default,
                help=text,
            )
        else:
            parser.add_argument(
                option.flag,
                dest=field,
                type=_argument_type(option.parse, secret=option.secret),
                default=default,
                metavar=option.metavar,
                help=text,
            )
    parser.set_defaults(env_problems=problems)


def _parse_variable(parse: Callable[[str], object], raw: str, repeat: bool) -> object:
    """A variable's value: comma-separated values for a repeatable flag."""
    if not repeat:
        return parse(raw)
    return tuple(parse(item.strip()) for item in raw.split(",") if item.strip())


class _Repeated(argparse.Action):
    """A repeatable flag: the values given replace its variable's, they do not add to
    them (a flag wins over its variable)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        current = getattr(namespace, self.dest)
        kept = () if current is self.default else tuple(current)
        setattr(namespace, self.dest, (*kept, values))


def _argument_type(
    parse: Callable[[str], object], *, secret: bool = False
) -> Callable[[str], object]:
    """``parse`` as an argparse ``type``: its reason becomes argparse's error message (which
    quotes the value, unless it is a secret)."""

    def convert(value: str) -> object:
        try:
            return parse(value)
        except ValueError as exc:
            shown = "<hidden>" if secret else shlex.quote(value)
            raise argparse.ArgumentTypeError(f"{exc}: {shown}") from None

    convert.__name__ = parse.__name__
    return convert


def settings_from_args(args: argparse.Namespace, fields: Iterable[str]) -> Settings:
    """``Settings`` with the named fields taken from parsed ``args``, the rest built-in."""
    return dataclasses.replace(Settings(), **{field: getattr(args, field) for field in fields})


def fail(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    """End with ``<prog>: error: <message>`` on stderr and exit code 2.

    One line, unlike ``parser.error``: for a variable, a database URL or a prices file the
    usage (a list of flags) says nothing useful and would push the reason off the screen.
    """
    parser.exit(2, f"{parser.prog}: error: {message}\n")


def check_settings(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse what the flags could not: a bad variable, database URL or prices file.

    Done before anything starts, so a mistake costs one line rather than a server that
    looks healthy and then fails every call.
    """
    from wiretrace_proxy.record.pricing import load_overrides
    from wiretrace_proxy.storage.engine import parse_database_url

    if args.env_problems:
        fail(parser, args.env_problems[0])
    if db := getattr(args, "db_url", None):
        try:
            parse_database_url(Settings(db_url=db).database_url)
        except ConfigError as exc:
            fail(parser, f"{_names('db_url')}: {exc}")
    if prices := getattr(args, "prices_file", None):
        try:
            load_overrides(prices)
        except ConfigError as exc:
            fail(parser, f"{_names('prices_file')}: {exc}")


def _names(field: str) -> str:
    """``--db/WIRETRACE_DB``: whichever the user set, they find it named."""
    option = OPTION_BY_FIELD[field]
    return f"{option.flag}/{option.env}"


def configure_logging(level: str, fmt: str) -> None:
    logging.basicConfig(level=level.upper(), format=fmt)
    for noisy in ("alembic", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
