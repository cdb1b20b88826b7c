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

__all__ = ["Dataset", "canonical_digest"]


def canonical_digest(value: object) -> str:
    """sha256 (16 hex characters) of ``value``'s canonical JSON."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


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
        self.version = canonical_digest(copied)
        """The content digest of the rows."""

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
