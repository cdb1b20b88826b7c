"""ISO 8601 times as users and SDKs write them, read as timezone-aware UTC.

One parser for every entry point (API filters, span ingest, the CLI), so ``Z``, offsets and
naive times (taken as UTC) mean the same everywhere.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["parse_utc"]


def parse_utc(text: str) -> datetime:
    """``text`` as an aware UTC datetime; a naive time is taken as UTC.

    Raises ``ValueError`` when ``text`` is not an ISO 8601 time.
    """
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
