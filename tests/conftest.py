"""Shared fixtures. ``db_url`` is where tests get a database, so the same tests can run
against PostgreSQL later by parametrising this fixture; ``engine`` is that database
migrated to the newest schema (a test module with its own seeded ``engine`` overrides it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from wiretrace_proxy.storage.engine import create_engine_for
from wiretrace_proxy.storage.migrate import upgrade_to_head


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh, empty SQLite database file (not yet created or migrated)."""
    return f"sqlite:///{tmp_path / 'db' / 'wiretrace.db'}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on ``db_url``, migrated to head and empty."""
    engine = create_engine_for(db_url)
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


TIKTOKEN_FILES = Path(__file__).resolve().parent / "fixtures" / "tiktoken"
"""The o200k_base and cl100k_base files, named by tiktoken's cache key (README there)."""


def _offline_tokenizers() -> None:
    """Load tokenizers from the repository's copy for the whole session, never the network.

    Set at import, before any test (or a subprocess it starts) loads tiktoken, and whatever
    the caller's environment says, so exact token counts are checked on every machine. The
    tests of the ``chars/4`` fallback point ``TIKTOKEN_CACHE_DIR`` at an empty folder.
    """
    import os

    os.environ["TIKTOKEN_CACHE_DIR"] = str(TIKTOKEN_FILES)


_offline_tokenizers()
