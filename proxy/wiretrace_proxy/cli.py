"""``wiretrace serve``: every flag also reads ``WIRETRACE_<NAME>`` (design.md, CLI contract).

Start-up problems (a bad flag value, a database that cannot be opened, a port in use) end
with one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from wiretrace_proxy import __version__
from wiretrace_proxy.errors import WiretraceError
from wiretrace_proxy.record.pricing import ENV_PRICES, load_overrides
from wiretrace_proxy.settings import (
    DEFAULT_HOST,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_PORT,
    DEFAULT_PROJECT,
    DEFAULT_UPSTREAM,
    ENV_DB,
    ENV_HOST,
    ENV_KEEP_EMBEDDINGS,
    ENV_MAX_BODY_BYTES,
    ENV_PORT,
    ENV_PROJECT,
    ENV_UPSTREAM,
    Settings,
    env_bool,
)

log = logging.getLogger("wiretrace")


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range 0-65535: {port}")
    return port


def _upstream(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"upstream must be an http(s) URL: {value!r}")
    return value


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {number}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wiretrace", description="LLM call recorder")
    parser.add_argument("--version", action="version", version=f"wiretrace {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the recording proxy, API and UI")
    serve.add_argument("--host", default=_env(ENV_HOST, DEFAULT_HOST), help=f"[{ENV_HOST}]")
    serve.add_argument(
        "--port", type=_port, default=_env(ENV_PORT, str(DEFAULT_PORT)), help=f"[{ENV_PORT}]"
    )
    serve.add_argument(
        "--upstream",
        type=_upstream,
        default=_env(ENV_UPSTREAM, DEFAULT_UPSTREAM),
        help=f"OpenAI-compatible base URL, without /v1 [{ENV_UPSTREAM}]",
    )
    serve.add_argument(
        "--db", default=_env(ENV_DB, ""), help=f"database URL or SQLite file path [{ENV_DB}]"
    )
    serve.add_argument(
        "--project", default=_env(ENV_PROJECT, DEFAULT_PROJECT), help=f"[{ENV_PROJECT}]"
    )
    serve.add_argument(
        "--max-body-bytes",
        type=_positive,
        default=_env(ENV_MAX_BODY_BYTES, str(DEFAULT_MAX_BODY_BYTES)),
        help=f"bytes kept of each body [{ENV_MAX_BODY_BYTES}]",
    )
    serve.add_argument(
        "--keep-embeddings",
        action="store_true",
        default=env_bool(os.environ.get(ENV_KEEP_EMBEDDINGS)),
        help=f"store embedding vectors in full [{ENV_KEEP_EMBEDDINGS}]",
    )
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    serve.add_argument("--prices", default=os.environ.get(ENV_PRICES), help=_PRICES_HELP)
    _add_reprice(commands)
    return parser


_PRICES_HELP = f"TOML file of model prices that win over genai-prices [{ENV_PRICES}]"


def _time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _add_reprice(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    reprice = commands.add_parser("reprice", help="recompute stored call costs with current prices")
    reprice.add_argument("--db", default=_env(ENV_DB, ""), help=f"[{ENV_DB}]")
    reprice.add_argument("--prices", default=os.environ.get(ENV_PRICES), help=_PRICES_HELP)
    reprice.add_argument(
        "--upstream",
        default=_env(ENV_UPSTREAM, DEFAULT_UPSTREAM),
        help=f"the upstream the calls went to: picks the provider's prices [{ENV_UPSTREAM}]",
    )
    reprice.add_argument("--model", help="only calls that requested or got this model")
    reprice.add_argument("--since", type=_time, help="only calls started at or after (ISO 8601)")
    reprice.add_argument("--until", type=_time, help="only calls started before (ISO 8601)")
    reprice.add_argument("--project", help="only calls of this project")


def _reprice(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from wiretrace_proxy.commands import reprice

    try:
        upstream = _upstream(args.upstream)
    except argparse.ArgumentTypeError as exc:
        parser.exit(2, f"wiretrace: error: {exc}\n")
    logging.basicConfig(level="WARNING", format="%(levelname)s %(name)s: %(message)s")
    settings = Settings(db_url=args.db, upstream=upstream, prices_file=args.prices or None)
    try:
        return reprice.main(
            settings, model=args.model, since=args.since, until=args.until, project=args.project
        )
    except WiretraceError as exc:
        print(f"wiretrace: error: {exc}", file=sys.stderr)
        return 1


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings(
        host=args.host,
        port=int(args.port),
        upstream=args.upstream,
        db_url=args.db,
        project=args.project,
        max_body_bytes=int(args.max_body_bytes),
        keep_embeddings=bool(args.keep_embeddings),
        key_salt=os.environ.get("WIRETRACE_KEY_SALT"),
        prices_file=args.prices or None,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "reprice":
        return _reprice(parser, args)
    # argparse applies ``type`` only to strings given on the command line; env defaults
    # arrive as strings too, so validate them the same way.
    try:
        args.port = _port(str(args.port))
        args.upstream = _upstream(args.upstream)
        args.max_body_bytes = _positive(str(args.max_body_bytes))
    except argparse.ArgumentTypeError as exc:
        parser.exit(2, f"wiretrace: error: {exc}\n")
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("alembic", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = settings_from_args(args)
    from wiretrace_proxy.server import serve  # imported late: `wiretrace --help` stays fast

    try:
        if settings.prices_file:
            load_overrides(settings.prices_file)  # a bad file stops the start, in one line
        serve(settings)
    except WiretraceError as exc:
        print(f"wiretrace: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(
            f"wiretrace: error: cannot listen on {settings.host}:{settings.port}: "
            f"{exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
