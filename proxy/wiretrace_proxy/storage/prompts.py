"""Reads behind ``/api/prompts``: prompt families and their versions, from ``calls`` alone.

A *family* is the calls that share a prompt name: the ``display_name`` a client set with the
``Wiretrace-Name`` header, else ``<op_name>/<model>`` (``openai.chat.completions.create/
gpt-4o``), so an app that names nothing still gets one family per endpoint and model. A
*version* is a distinct ``prompt_digest`` within a family, numbered 1, 2, ... by first use.

Nothing is stored apart from the calls: a version's template is rebuilt from the inputs of
its first call (``prompts.prompt_template``), so there is no second table to keep in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wiretrace_proxy.callrecord import JSON
from wiretrace_proxy.storage.models import CALLS

__all__ = ["FAMILY", "FirstCall", "PromptFamily", "PromptVersion", "first_call", "list_families"]

FAMILY: sa.ColumnElement[str] = sa.case(
    (sa.func.coalesce(CALLS.c.display_name, "") != "", CALLS.c.display_name),
    (CALLS.c.model.is_not(None), CALLS.c.op_name + "/" + CALLS.c.model),
    else_=CALLS.c.op_name,
)
"""The family name of a call, as SQL (see the module docstring)."""


@dataclass(slots=True)
class PromptVersion:
    digest: str
    number: int
    """1 for the family's first version, then in order of first use."""
    first_seen: datetime
    last_seen: datetime
    calls: int


@dataclass(slots=True)
class PromptFamily:
    name: str
    versions: list[PromptVersion] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return sum(v.calls for v in self.versions)

    @property
    def first_seen(self) -> datetime:
        return self.versions[0].first_seen

    @property
    def last_seen(self) -> datetime:
        return max(v.last_seen for v in self.versions)


@dataclass(frozen=True, slots=True)
class FirstCall:
    id: str
    op_name: str
    inputs: JSON


def _versions(conn: Connection, name: str | None, project: str | None) -> sa.Select[Any]:
    first = sa.func.min(CALLS.c.started_at)
    stmt = (
        sa.select(
            FAMILY.label("name"),
            CALLS.c.prompt_digest,
            first.label("first_seen"),
            sa.func.max(CALLS.c.started_at).label("last_seen"),
            sa.func.count().label("calls"),
        )
        .where(CALLS.c.prompt_digest.is_not(None))
        .group_by(FAMILY, CALLS.c.prompt_digest)
        .order_by(first, CALLS.c.prompt_digest)
    )
    if name is not None:
        stmt = stmt.where(FAMILY == name)
    if project is not None:
        stmt = stmt.where(CALLS.c.project == project)
    return stmt


def list_families(
    conn: Connection, *, name: str | None = None, project: str | None = None
) -> list[PromptFamily]:
    """Families with their versions (oldest first), most recently used family first."""
    families: dict[str, PromptFamily] = {}
    for row in conn.execute(_versions(conn, name, project)).mappings():
        family = families.setdefault(row["name"], PromptFamily(row["name"]))
        family.versions.append(
            PromptVersion(
                digest=row["prompt_digest"],
                number=len(family.versions) + 1,
                first_seen=row["first_seen"],
                last_seen=row["last_seen"],
                calls=int(row["calls"]),
            )
        )
    return sorted(families.values(), key=lambda f: (f.last_seen, f.name), reverse=True)


def first_call(
    conn: Connection, name: str, digest: str, project: str | None = None
) -> FirstCall | None:
    """The earliest call of one version: its inputs hold the template as first sent."""
    stmt = (
        sa.select(CALLS.c.id, CALLS.c.op_name, CALLS.c.inputs)
        .where(CALLS.c.prompt_digest == digest, FAMILY == name)
        .order_by(CALLS.c.started_at, CALLS.c.id)
        .limit(1)
    )
    if project is not None:
        stmt = stmt.where(CALLS.c.project == project)
    row = conn.execute(stmt).mappings().first()
    if row is None:
        return None
    return FirstCall(row["id"], row["op_name"], cast(JSON, row["inputs"]))
