"""``wiretrace purge``: delete the calls that started before a date, on demand.

The same deletion the server's ``--retention-days`` runs in the background
(``storage.purge``): each call with its child spans, its feedback and its share of the stats
rollups, in small transactions, so it is safe while servers record into the database.
``--dry-run`` counts what would go and changes nothing. The report is one line per table.

``--before``, ``--project`` and ``--dry-run`` pick what one run does, so like reprice's
filters they have no ``WIRETRACE_*`` variable: a ``WIRETRACE_PROJECT`` set for the server
must not narrow (or a stray variable widen) a deletion.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime

from wiretrace_proxy.commands.options import (
    HelpFormatter,
    Subparsers,
    add_settings,
    check_settings,
    configure_logging,
    settings_from_args,
)
from wiretrace_proxy.errors import WiretraceError
from wiretrace_proxy.settings import Settings

__all__ = ["FIELDS", "FILTERS", "parse_before", "register", "run"]

FIELDS = ("db_url",)
"""The settings purge reads: where the calls are."""
FILTERS = ("--before", "--project", "--dry-run")
"""Flags that pick what one run deletes, not settings: no variable (see above)."""


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "purge",
        help="delete calls that started before a date",
        description="Delete the calls that started before --before, with their child "
        "spans, feedback and stats, in small batches (safe while a server runs), then say "
        "how many rows went from each table. --dry-run only counts.",
        formatter_class=HelpFormatter,
    )
    add_settings(parser, FIELDS)
    parser.add_argument(
        "--before",
        type=parse_before,
        required=True,
        metavar="DATE",
        help="delete calls started before this ISO 8601 date or time (a date is UTC midnight)",
    )
    parser.add_argument("--project", help="only calls of this project")
    parser.add_argument(
        "--dry-run", action="store_true", help="count what would be deleted; delete nothing"
    )
    parser.set_defaults(run=run, command_parser=parser)


def parse_before(value: str) -> datetime:
    """An ISO 8601 date (UTC midnight) or time (UTC if it names no zone)."""
    text = value.strip().replace("Z", "+00:00")
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {value!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    check_settings(parser, args)
    settings = settings_from_args(args, FIELDS)
    configure_logging("warning", "%(levelname)s %(name)s: %(message)s")  # stdout: the report
    try:
        _purge_database(settings, args)
    except WiretraceError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 1
    return 0


def _purge_database(settings: Settings, args: argparse.Namespace) -> None:
    from sqlalchemy.exc import SQLAlchemyError

    from wiretrace_proxy.errors import StorageError
    from wiretrace_proxy.storage.engine import (
        check_database,
        create_engine_for,
        describe_error,
        safe_url,
    )
    from wiretrace_proxy.storage.migrate import upgrade_to_head
    from wiretrace_proxy.storage.purge import count_purge, purge

    before: datetime = args.before
    engine = create_engine_for(settings.database_url)
    try:
        check_database(engine)
        upgrade_to_head(engine)
        if args.dry_run:
            counts = count_purge(engine, before, args.project)
        else:
            counts = purge(engine, before, args.project)
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot purge {safe_url(engine)}: {describe_error(exc)}") from exc
    finally:
        engine.dispose()
    which = f"calls of project {args.project!r}" if args.project else "calls"
    when = before.isoformat()
    if args.dry_run:
        print(f"dry run, nothing deleted: would delete these {which} started before {when}")
        print(f"  calls: {counts.calls}")
        print(f"  feedback: {counts.feedback}")
    else:
        print(f"deleted the {which} started before {when}")
        for table, n in counts.as_dict().items():
            print(f"  {table}: {n}")
    sys.stdout.flush()
