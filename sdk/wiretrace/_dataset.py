"""``wiretrace.Dataset``: named rows of columns, versioned by their content.

Why a content digest: an evaluation must say which rows it ran on, and "the same rows"
must mean the same version wherever it is computed. The version is the sha256 (first 16 hex
characters) of the rows' canonical JSON (keys sorted, no spaces, UTF-8), the digest the
server computes for ``POST /api/datasets``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["Dataset", "canonical_digest", "canonical_json"]


def _segment(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def canonical_json(value: object) -> str:
    """Keys sorted, no spaces, UTF-8 as is; what JSON cannot hold becomes its ``str``."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_digest(value: object) -> str:
    """sha256 (16 hex characters) of ``value``'s canonical JSON."""
    return hashlib.sha256(canonical_json(value).encode("utf-8", "surrogatepass")).hexdigest()[:16]


class Dataset:
    """Rows (dicts of column values) under a name. Rows are copied: later changes to the
    dicts passed in do not change the dataset or its version.

    >>> ds = wiretrace.Dataset(name="capitals", rows=[{"question": "...", "target": "Paris"}])
    """

    def __init__(self, *, name: str, rows: Iterable[Mapping[str, Any]]) -> None:
        materialised = list(rows)
        if not name:
            raise ValueError("Dataset needs a name")
        if not materialised:
            raise ValueError(f"Dataset {name!r} has no rows")
        copied: list[dict[str, Any]] = []
        for index, row in enumerate(materialised):
            if not isinstance(row, Mapping):
                raise TypeError(f"Dataset {name!r} row {index} is {type(row).__name__}, not a dict")
            if not row:
                raise ValueError(f"Dataset {name!r} row {index} has no columns")
            copied.append({str(key): value for key, value in row.items()})
        self.name = name
        self.rows: list[dict[str, Any]] = copied
        text = canonical_json(copied)
        self.version = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        """The content digest of the rows."""
        self._json = text

    def json_rows(self) -> list[dict[str, Any]]:
        """The rows as JSON values, complete (what is sent to the server and digested)."""
        rows: list[dict[str, Any]] = json.loads(self._json)
        return rows

    @classmethod
    def from_server(
        cls,
        name: str,
        *,
        version: str | None = None,
        project: str | None = None,
        url: str | None = None,
    ) -> Dataset:
        """A dataset stored on the server (``version``, default the latest), all its rows.

        Raises ``WiretraceAPIError`` when the server does not have it or cannot be reached.
        """
        from ._client import Client
        from ._evaluation import server_url

        client = Client(url or server_url())
        scope = [("project", project)] if project else []
        rows: list[dict[str, Any]] = []
        params = [*scope, *([("version", version)] if version else [])]
        while True:
            page = [*params, ("offset", str(len(rows))), ("limit", "1000")]
            body = client.get(f"/api/datasets/{_segment(name)}/rows", page)
            assert isinstance(body, dict)
            listed = body.get("rows") or []
            rows.extend(dict(row["values"]) for row in listed)
            version = version or body.get("version")
            params = [*scope, ("version", str(version))]
            if not listed or len(rows) >= int(body.get("total") or 0):
                return cls(name=name, rows=rows)

    @classmethod
    def from_calls(
        cls,
        name: str,
        *,
        project: str | None = None,
        limit: int | None = None,
        url: str | None = None,
        **filters: object,
    ) -> Dataset:
        """A new dataset version made by the server from recorded calls matching ``filters``
        (any ``/api/calls`` filter: ``model=``, ``session_id=``, ...), and its rows: each
        ``{"inputs": <the recorded request body>, "reference_output", "source_call_id",
        "model", ...}``. A model whose ``predict(inputs)`` sends ``inputs`` again replays
        them."""
        from ._client import Client
        from ._evaluation import server_url

        client = Client(url or server_url())
        body: dict[str, object] = {"name": name, **filters}
        if project:
            body["project"] = project
        if limit is not None:
            body["limit"] = limit
        made = client.post("/api/datasets/from-calls", body)
        assert isinstance(made, dict)
        return cls.from_server(name, version=str(made["version"]), project=project, url=url)

    @property
    def columns(self) -> list[str]:
        """Every column name found in a row, in first-seen order."""
        seen: dict[str, None] = {}
        for row in self.rows:
            seen.update(dict.fromkeys(row))
        return list(seen)

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"Dataset(name={self.name!r}, rows={len(self.rows)}, version={self.version!r})"
