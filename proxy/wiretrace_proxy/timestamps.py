"""ISO 8601 times as users and SDKs write them, read as timezone-aware UTC.

One parser for every entry point (API filters, span ingest, the CLI), so ``Z``, offsets and
naive times (taken as UTC) mean the same everywhere.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["parse_utc"]


def parse_utc(text: str) -> datetime:
    """``text`` as an aware UTC datetime; a naive time is taken as UTC.

    Raises ``ValueError`` when ``text`` is not an ISO 8601 time, or names one that UTC
    cannot hold (``0001-01-01T00:00:00+01:00`` is in year 0 in UTC).
    """
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r} is outside the range of UTC times") from None
