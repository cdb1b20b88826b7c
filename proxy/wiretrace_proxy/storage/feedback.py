"""Feedback on calls: store it, list it, and summarise a whole page of calls in one query.

A call can collect many judgements (thumbs from several people, scores from evaluators),
so feedback is its own table keyed by ``call_id`` rather than columns on ``calls``. The
listing shows a compact summary per call; fetching it per row would be one query per call
on every page, so ``summaries`` groups the page's feedback in a single ``GROUP BY``.

Thumbs are stored as 1 / -1 (sums and filters stay arithmetic) and shown as
``"up"``/``"down"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from wiretrace_proxy.callrecord import JSONObject
from wiretrace_proxy.storage.models import CALLS, Feedback

__all__ = [
    "FEEDBACK",
    "FeedbackEntry",
    "add_feedback",
    "call_exists",
    "list_feedback",
    "summaries",
]

FEEDBACK: sa.Table = cast(sa.Table, Feedback.__table__)  # type: ignore[attr-defined]

Thumbs = Literal["up", "down"]
_THUMBS_VALUE: dict[str, int] = {"up": 1, "down": -1}


@dataclass(frozen=True, slots=True)
class FeedbackEntry:
    """One judgement of one call, as stored and as the API shows it."""

    id: str
    call_id: str
    thumbs: Thumbs | None
    name: str | None
    """Name of the score (required when ``score`` is given)."""
    score: float | None
    note: str | None
    author: str | None
    created_at: datetime

    def to_api(self) -> JSONObject:
        return {
            "id": self.id,
            "call_id": self.call_id,
            "thumbs": self.thumbs,
            "name": self.name,
            "score": self.score,
            "note": self.note,
            "author": self.author,
            "created_at": self.created_at.isoformat(),
        }


def call_exists(conn: Connection, call_id: str) -> bool:
    """Whether a call with this id is stored (primary-key lookup)."""
    stmt = sa.select(CALLS.c.id).where(CALLS.c.id == call_id)
    return conn.execute(stmt).first() is not None


def add_feedback(conn: Connection, entry: FeedbackEntry) -> None:
    conn.execute(
        sa.insert(FEEDBACK),
        {
            "id": entry.id,
            "call_id": entry.call_id,
            "thumbs": _THUMBS_VALUE[entry.thumbs] if entry.thumbs else None,
            "name": entry.name,
            "score": entry.score,
            "note": entry.note,
            "author": entry.author,
            "created_at": entry.created_at,
        },
    )


def list_feedback(conn: Connection, call_id: str) -> list[FeedbackEntry]:
    """A call's feedback, oldest first."""
    stmt = (
        sa.select(FEEDBACK)
        .where(FEEDBACK.c.call_id == call_id)
        .order_by(FEEDBACK.c.created_at, FEEDBACK.c.id)
    )
    return [_entry(row) for row in conn.execute(stmt).mappings()]


def _entry(row: RowMapping) -> FeedbackEntry:
    thumbs: Thumbs | None = {1: "up", -1: "down"}.get(row["thumbs"])  # type: ignore[assignment]
    return FeedbackEntry(
        id=row["id"],
        call_id=row["call_id"],
        thumbs=thumbs,
        name=row["name"],
        score=row["score"],
        note=row["note"],
        author=row["author"],
        created_at=row["created_at"],
    )


def summaries(conn: Connection, call_ids: Sequence[str]) -> dict[str, JSONObject]:
    """``{call_id: {"up", "down", "notes", "scores": {name: mean}}}`` for the calls that
    have feedback, in one query; calls without feedback are absent."""
    if not call_ids:
        return {}
    fb = FEEDBACK.c
    stmt = (
        sa.select(
            fb.call_id,
            fb.name,
            sa.func.sum(sa.case((fb.thumbs == 1, 1), else_=0)).label("up"),
            sa.func.sum(sa.case((fb.thumbs == -1, 1), else_=0)).label("down"),
            sa.func.count(fb.note).label("notes"),
            sa.func.avg(fb.score).label("mean"),
        )
        .where(fb.call_id.in_(list(call_ids)))
        .group_by(fb.call_id, fb.name)
    )
    result: dict[str, JSONObject] = {}
    for row in conn.execute(stmt).mappings():
        summary = result.setdefault(row["call_id"], {"up": 0, "down": 0, "notes": 0, "scores": {}})
        summary["up"] = cast(int, summary["up"]) + int(row["up"] or 0)
        summary["down"] = cast(int, summary["down"]) + int(row["down"] or 0)
        summary["notes"] = cast(int, summary["notes"]) + int(row["notes"] or 0)
        if row["name"] is not None and row["mean"] is not None:
            cast(JSONObject, summary["scores"])[row["name"]] = float(row["mean"])
    return result
