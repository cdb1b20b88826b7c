"""A dataset version's name: the digest of its rows' canonical JSON.

Canonical JSON is ``json.dumps(rows, sort_keys=True, separators=(",", ":"),
ensure_ascii=False, allow_nan=False)`` in UTF-8: the same rows give the same digest
whatever order their keys were sent in, and any change to a value gives a new one. The
version is the first 16 hex digits of the sha256 (64 bits: a collision among a dataset's
versions is not a practical concern).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from wiretrace_proxy.callrecord import JSON

__all__ = ["VERSION_DIGITS", "rows_digest", "version_of"]

VERSION_DIGITS = 16


def rows_digest(rows: Sequence[JSON]) -> str:
    """sha256 hex of the rows' canonical JSON."""
    text = json.dumps(
        list(rows), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def version_of(digest: str) -> str:
    return digest[:VERSION_DIGITS]
