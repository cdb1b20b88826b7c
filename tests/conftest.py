"""Shared fixtures. ``db_url`` is the one way tests get a database, so the same tests can run
against PostgreSQL later by parametrising this fixture."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh, empty SQLite database file (not yet created or migrated)."""
    return f"sqlite:///{tmp_path / 'db' / 'wiretrace.db'}"
