"""Shared fixtures. ``db_url`` is the one way tests get a database, so the same tests can run
against PostgreSQL later by parametrising this fixture."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh, empty SQLite database file (not yet created or migrated)."""
    return f"sqlite:///{tmp_path / 'db' / 'wiretrace.db'}"


def _offline_tokenizers() -> None:
    """Use the tokenizer files beside the repo when present (a user's machine downloads
    them); without them estimates are flagged ``chars/4``, which tests also cover."""
    import os

    shared = Path(__file__).resolve().parents[2] / "shared" / "tiktoken"
    if "TIKTOKEN_CACHE_DIR" not in os.environ and (shared / "README.md").is_file():
        os.environ["TIKTOKEN_CACHE_DIR"] = str(shared)


_offline_tokenizers()
