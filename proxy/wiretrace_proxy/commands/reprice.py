"""``wiretrace reprice``: recompute stored ``cost_usd`` with today's prices.

A call's cost is stored with it (so sorting and summing by cost are plain SQL), which means
it must be recomputable: after adding a model to the prices file, after a genai-prices
upgrade, or for calls recorded before pricing existed. ``reprice`` prices each batch of
calls with usage (``storage.pricing.usage_batches``) with ``Pricer.price_call`` at the
call's own start time (the price then in force), and stores only the costs that changed.
The SQL lives in ``storage.pricing``.

``--model``, ``--since``, ``--until`` and ``--project`` pick the calls of one run, so unlike
the settings flags they have no ``WIRETRACE_*`` variable: a ``WIRETRACE_PROJECT`` set for
the server must not silently narrow a reprice.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from wiretrace_proxy.callrecord import Usage
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

if TYPE_CHECKING:  # imported where used: `wiretrace --help` need not load SQLAlchemy
    from sqlalchemy.engine import Engine, RowMapping

    from wiretrace_proxy.record.pricing import Pricer

__all__ = ["FIELDS", "FILTERS", "RepriceReport", "register", "reprice", "run"]

BATCH_SIZE = 1000

FIELDS = ("db_url", "prices_file", "upstream")
"""The settings reprice reads: where the calls are and which prices apply."""
FILTERS = ("--model", "--since", "--until", "--project")
"""Flags that pick the calls of one run, not settings: no variable (see above)."""


@dataclass(slots=True)
class RepriceReport:
    scanned: int = 0
    """Calls with usage that matched the filters."""
    priced: int = 0
    """Calls that now have a cost."""
    updated: int = 0
    """Calls whose stored cost changed."""
    unknown: Counter[str] = field(default_factory=Counter)
    """Model name -> calls that could not be priced for want of a price."""


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "reprice",
        help="recompute stored call costs with current prices",
        description="Recompute the cost of stored calls with today's prices (genai-prices "
        "and --prices; --upstream picks the provider's), then list the models no price "
        "covers. Safe while a server runs.",
        formatter_class=HelpFormatter,
    )
    add_settings(parser, FIELDS)
    parser.add_argument("--model", help="only calls that requested or got this model")
    parser.add_argument(
        "--since", type=_time, metavar="TIME", help="only calls started at or after (ISO 8601)"
    )
    parser.add_argument(
        "--until", type=_time, metavar="TIME", help="only calls started before (ISO 8601)"
    )
    parser.add_argument("--project", help="only calls of this project")
    parser.set_defaults(run=run, command_parser=parser)


def _time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Reprice, then print what was priced and what is unknown."""
    check_settings(parser, args)
    settings = settings_from_args(args, FIELDS)
    configure_logging("warning", "%(levelname)s %(name)s: %(message)s")  # stdout: the report
    try:
        return _reprice_database(settings, args)
    except WiretraceError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 1


def _reprice_database(settings: Settings, args: argparse.Namespace) -> int:
    from wiretrace_proxy.record.pricing import Pricer
    from wiretrace_proxy.storage.engine import check_database, create_engine_for
    from wiretrace_proxy.storage.migrate import upgrade_to_head

    pricer = Pricer.from_settings(settings)
    engine = create_engine_for(settings.database_url)
    try:
        check_database(engine)
        upgrade_to_head(engine)
        report = reprice(
            engine,
            pricer,
            model=args.model,
            since=args.since,
            until=args.until,
            project=args.project,
        )
    finally:
        engine.dispose()
    source = pricer.source + (f" and {pricer.override_source}" if settings.prices_file else "")
    print(
        f"priced {report.priced} of {report.scanned} calls with usage "
        f"({report.updated} updated) from {source}"
    )
    if report.unknown:
        print("unknown models (add them to a --prices file, then run reprice again):")
        for name, count in report.unknown.most_common():
            print(f"  {name}: {count} calls")
    sys.stdout.flush()
    return 0


def reprice(
    engine: Engine,
    pricer: Pricer,
    *,
    model: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    project: str | None = None,
    batch_size: int = BATCH_SIZE,
) -> RepriceReport:
    """Recompute ``cost_usd`` of the matching calls (all calls with usage by default)."""
    from wiretrace_proxy.storage.pricing import CallFilter, store_costs, usage_batches

    report = RepriceReport()
    where = CallFilter(model=model, since=since, until=until, project=project)
    for rows in usage_batches(engine, where, batch_size):
        changed = [c for row in rows if (c := _reprice_row(pricer, row, report)) is not None]
        store_costs(engine, changed)
        report.updated += len(changed)
    return report


def _reprice_row(
    pricer: Pricer, row: RowMapping, report: RepriceReport
) -> tuple[str, float | None] | None:
    """``(call id, new cost)`` if the stored cost is no longer right, else None."""
    usage = Usage(
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        total_tokens=row["total_tokens"],
        cached_tokens=row["cached_tokens"],
        reasoning_tokens=row["reasoning_tokens"],
    )
    result = pricer.price_call(
        row["model"],
        row["response_model"],
        usage,
        at=row["started_at"],
        output={"service_tier": row["service_tier"]},
    )
    report.scanned += 1
    if result.cost_usd is not None:
        report.priced += 1
    elif result.unknown_model:
        report.unknown[row["response_model"] or row["model"]] += 1
    if result.cost_usd == row["cost_usd"]:
        return None
    return row["id"], result.cost_usd
