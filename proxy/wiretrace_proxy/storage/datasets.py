"""Datasets: named lists of rows, versioned by content.

Posting rows stores a version named by their digest (``evaluations.digests``); posting the
same rows again finds that version and stores nothing. The newest version is the one
most recently added. Rows are kept with their keys in the order they were sent
(``models.ORDERED_JSON``), so a row made from a recorded request replays as that request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from wiretrace_proxy.callrecord import JSON, JSONObject
from wiretrace_proxy.evaluations.digests import rows_digest, version_of
from wiretrace_proxy.storage.models import DATASET_ROWS, DATASET_VERSIONS, DATASETS

__all__ = [
    "DatasetVersion",
    "RowsPage",
    "add_version",
    "dataset_versions",
    "list_datasets",
    "read_rows",
]


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    project: str
    name: str
    version: str
    digest: str
    row_count: int
    source: JSON
    created_at: datetime

    def to_api(self) -> JSONObject:
        """The answer to ``POST /api/datasets``."""
        return {
            "name": self.name,
            "project": self.project,
            "version": self.version,
            "digest": self.digest,
            "row_count": self.row_count,
            "created_at": self.created_at.isoformat(),
        }

    def to_listed(self) -> JSONObject:
        """One entry of ``GET /api/datasets/{name}``'s versions."""
        return {
            "version": self.version,
            "digest": self.digest,
            "row_count": self.row_count,
            "created_at": self.created_at.isoformat(),
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class RowsPage:
    version: str
    total: int
    rows: list[tuple[int, JSON]]


def _version(row: RowMapping) -> DatasetVersion:
    return DatasetVersion(
        project=row["project"],
        name=row["name"],
        version=row["version"],
        digest=row["digest"],
        row_count=row["row_count"],
        source=row["source"],
        created_at=row["created_at"],
    )


def _find(conn: Connection, project: str, name: str, version: str) -> DatasetVersion | None:
    v = DATASET_VERSIONS.c
    stmt = sa.select(DATASET_VERSIONS).where(
        v.project == project, v.name == name, v.version == version
    )
    row = conn.execute(stmt).mappings().first()
    return _version(row) if row else None


def add_version(
    conn: Connection,
    project: str,
    name: str,
    rows: Sequence[JSON],
    source: JSONObject,
    now: datetime,
) -> tuple[DatasetVersion, bool]:
    """The version holding ``rows``, and whether it was stored now (False: it existed)."""
    digest = rows_digest(rows)
    version = version_of(digest)
    existing = _find(conn, project, name, version)
    if existing is not None:
        return existing, False
    d = DATASETS.c
    known = conn.execute(sa.select(d.name).where(d.project == project, d.name == name)).first()
    if known is None:
        conn.execute(
            sa.insert(DATASETS),
            {"project": project, "name": name, "created_at": now, "updated_at": now},
        )
    else:
        conn.execute(
            sa.update(DATASETS).where(d.project == project, d.name == name).values(updated_at=now)
        )
    conn.execute(
        sa.insert(DATASET_VERSIONS),
        {
            "project": project,
            "name": name,
            "version": version,
            "digest": digest,
            "row_count": len(rows),
            "source": source,
            "created_at": now,
        },
    )
    if rows:
        conn.execute(
            sa.insert(DATASET_ROWS),
            [
                {"project": project, "name": name, "version": version, "row_index": i, "data": r}
                for i, r in enumerate(rows)
            ],
        )
    return DatasetVersion(project, name, version, digest, len(rows), source, now), True


def dataset_versions(conn: Connection, project: str, name: str) -> list[DatasetVersion]:
    """A dataset's versions, newest first (empty for an unknown dataset)."""
    v = DATASET_VERSIONS.c
    stmt = (
        sa.select(DATASET_VERSIONS)
        .where(v.project == project, v.name == name)
        .order_by(v.created_at.desc(), v.version)
    )
    return [_version(row) for row in conn.execute(stmt).mappings()]


def list_datasets(conn: Connection, project: str) -> list[JSONObject]:
    """Every dataset of a project, by name, with its newest version and version count."""
    v = DATASET_VERSIONS.c
    stmt = (
        sa.select(DATASET_VERSIONS)
        .where(v.project == project)
        .order_by(v.name, v.created_at.desc(), v.version)
    )
    d = DATASETS.c
    times = {
        row.name: (row.created_at, row.updated_at)
        for row in conn.execute(
            sa.select(d.name, d.created_at, d.updated_at).where(d.project == project)
        )
    }
    out: dict[str, JSONObject] = {}
    for row in conn.execute(stmt).mappings():
        entry = out.get(row["name"])
        if entry is None:
            created, updated = times.get(row["name"], (row["created_at"], row["created_at"]))
            out[row["name"]] = {
                "name": row["name"],
                "project": project,
                "latest_version": row["version"],
                "row_count": row["row_count"],
                "versions": 1,
                "created_at": created.isoformat(),
                "updated_at": updated.isoformat(),
            }
        else:
            entry["versions"] = int(str(entry["versions"])) + 1
    return list(out.values())


def read_rows(
    conn: Connection,
    project: str,
    name: str,
    version: str | None,
    offset: int,
    limit: int,
) -> RowsPage | None:
    """A page of a version's rows (the newest version when ``version`` is None), in
    order; None when the dataset or the version does not exist."""
    if version is None:
        versions = dataset_versions(conn, project, name)
        if not versions:
            return None
        found: DatasetVersion | None = versions[0]
    else:
        found = _find(conn, project, name, version)
    if found is None:
        return None
    r = DATASET_ROWS.c
    stmt = (
        sa.select(r.row_index, r.data)
        .where(r.project == project, r.name == name, r.version == found.version)
        .order_by(r.row_index)
        .offset(offset)
        .limit(limit)
    )
    rows = [(row.row_index, row.data) for row in conn.execute(stmt)]
    return RowsPage(found.version, found.row_count, rows)
