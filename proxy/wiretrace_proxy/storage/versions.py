"""Reads and writes of op and model versions, and the per-op summaries the API lists.

A version row is written once, the first time the server sees a digest (insert, ignore on
conflict): the same source sent by a thousand spans is stored once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from wiretrace_proxy.callrecord import JSON, JSONObject
from wiretrace_proxy.storage.models import CALLS, ModelVersion, OpVersion

OP_VERSIONS: sa.Table = cast(sa.Table, OpVersion.__table__)  # type: ignore[attr-defined]
MODEL_VERSIONS: sa.Table = cast(sa.Table, ModelVersion.__table__)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class OpVersionRow:
    project: str
    op_name: str
    digest: str
    source: str
    module: str | None
    qualname: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ModelVersionRow:
    project: str
    name: str
    digest: str
    attributes: JSON
    source: JSON
    created_at: datetime


def _insert_ignore(conn: Connection, table: sa.Table, rows: Sequence[dict[str, object]]) -> None:
    if not rows:
        return
    insert: Any
    if conn.dialect.name == "postgresql":
        insert = postgresql.insert(table).on_conflict_do_nothing()
    elif conn.dialect.name == "sqlite":
        insert = sqlite.insert(table).on_conflict_do_nothing()
    else:
        raise NotImplementedError(f"versions are not implemented for {conn.dialect.name}")
    conn.execute(insert, list(rows))


def save_op_versions(conn: Connection, rows: Sequence[OpVersionRow]) -> None:
    _insert_ignore(conn, OP_VERSIONS, [vars_of(row) for row in rows])


def save_model_versions(conn: Connection, rows: Sequence[ModelVersionRow]) -> None:
    _insert_ignore(conn, MODEL_VERSIONS, [vars_of(row) for row in rows])


def vars_of(row: OpVersionRow | ModelVersionRow) -> dict[str, object]:
    return {name: getattr(row, name) for name in row.__slots__}


def list_ops(conn: Connection, project: str | None = None) -> list[JSONObject]:
    """Every op that has versions: name, version count, calls, last call, latest version."""
    versions = sa.select(
        OP_VERSIONS.c.project,
        OP_VERSIONS.c.op_name,
        sa.func.count().label("versions"),
        sa.func.max(OP_VERSIONS.c.created_at).label("latest_created_at"),
    ).group_by(OP_VERSIONS.c.project, OP_VERSIONS.c.op_name)
    if project is not None:
        versions = versions.where(OP_VERSIONS.c.project == project)
    out: list[JSONObject] = []
    for row in conn.execute(versions.order_by(OP_VERSIONS.c.op_name)).mappings():
        calls = conn.execute(
            sa.select(sa.func.count(), sa.func.max(CALLS.c.started_at)).where(
                CALLS.c.project == row["project"], CALLS.c.op_name == row["op_name"]
            )
        ).one()
        latest = conn.execute(
            sa.select(OP_VERSIONS.c.digest)
            .where(OP_VERSIONS.c.project == row["project"], OP_VERSIONS.c.op_name == row["op_name"])
            .order_by(OP_VERSIONS.c.created_at.desc())
            .limit(1)
        ).scalar_one()
        out.append(
            {
                "project": row["project"],
                "name": row["op_name"],
                "versions": row["versions"],
                "latest_version": latest,
                "calls": calls[0],
                "last_called_at": calls[1].isoformat() if calls[1] else None,
            }
        )
    return out


def op_versions(conn: Connection, op_name: str, project: str | None = None) -> list[JSONObject]:
    """An op's versions, oldest first (``version`` 1, 2, ...), each with its source."""
    stmt = sa.select(OP_VERSIONS).where(OP_VERSIONS.c.op_name == op_name)
    if project is not None:
        stmt = stmt.where(OP_VERSIONS.c.project == project)
    stmt = stmt.order_by(OP_VERSIONS.c.created_at, OP_VERSIONS.c.digest)
    out: list[JSONObject] = []
    for index, row in enumerate(conn.execute(stmt).mappings(), start=1):
        calls = conn.execute(
            sa.select(sa.func.count()).where(
                CALLS.c.op_name == op_name, CALLS.c.op_version == row["digest"]
            )
        ).scalar_one()
        out.append(
            {
                "project": row["project"],
                "op_name": row["op_name"],
                "version": index,
                "digest": row["digest"],
                "source": row["source"],
                "module": row["module"],
                "qualname": row["qualname"],
                "created_at": row["created_at"].isoformat(),
                "calls": calls,
            }
        )
    return out


def list_models(conn: Connection, project: str | None = None) -> list[JSONObject]:
    stmt = sa.select(
        MODEL_VERSIONS.c.project,
        MODEL_VERSIONS.c.name,
        sa.func.count().label("versions"),
    ).group_by(MODEL_VERSIONS.c.project, MODEL_VERSIONS.c.name)
    if project is not None:
        stmt = stmt.where(MODEL_VERSIONS.c.project == project)
    return [
        {"project": r["project"], "name": r["name"], "versions": r["versions"]}
        for r in conn.execute(stmt.order_by(MODEL_VERSIONS.c.name)).mappings()
    ]


def model_versions(conn: Connection, name: str, project: str | None = None) -> list[JSONObject]:
    stmt = sa.select(MODEL_VERSIONS).where(MODEL_VERSIONS.c.name == name)
    if project is not None:
        stmt = stmt.where(MODEL_VERSIONS.c.project == project)
    stmt = stmt.order_by(MODEL_VERSIONS.c.created_at, MODEL_VERSIONS.c.digest)
    out: list[JSONObject] = []
    for index, row in enumerate(conn.execute(stmt).mappings(), start=1):
        calls = conn.execute(
            sa.select(sa.func.count()).where(CALLS.c.model_version == row["digest"])
        ).scalar_one()
        out.append(
            {
                "project": row["project"],
                "name": row["name"],
                "version": index,
                "digest": row["digest"],
                "attributes": cast(JSON, row["attributes"]),
                "source": cast(JSON, row["source"]),
                "created_at": row["created_at"].isoformat(),
                "calls": calls,
            }
        )
    return out
