"""Shared fixtures. ``db_url`` is where tests get a database: a SQLite file, and in a module
marked ``pytestmark = pytest.mark.both_databases`` also a fresh database on a throwaway
PostgreSQL server (``tests/postgres.py``; ``WIRETRACE_TEST_POSTGRESQL=all`` does it for
every test that takes ``db_url``). ``engine`` is that database migrated to the newest schema
(a test module with its own seeded ``engine`` overrides it)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from wiretrace_proxy.storage.engine import create_engine_for
from wiretrace_proxy.storage.migrate import upgrade_to_head

from tests.postgres import PostgresServer, find_bin_dir, start_server

DATABASES = ("sqlite", "postgresql")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_databases: run the tests that take db_url on PostgreSQL as well as SQLite"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    everywhere = os.environ.get("WIRETRACE_TEST_POSTGRESQL") == "all"
    if "db_url" in metafunc.fixturenames and (
        everywhere or metafunc.definition.get_closest_marker("both_databases")
    ):
        metafunc.parametrize("db_url", DATABASES, indirect=True)


@pytest.fixture(scope="session")
def postgres_bin_dir() -> Path:
    """The PostgreSQL binaries' folder; skips where there are none (or no driver), except
    in CI (``CI`` set), where .ci/run installs them and a skip would hide a missing step."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        missing = "no PostgreSQL server binaries (initdb): apt-get install postgresql"
    elif importlib.util.find_spec("psycopg") is None:
        missing = "no psycopg driver: pip install -e '.[dev]'"
    else:
        return bin_dir
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL tests cannot run in CI: {missing}")
    pytest.skip(f"PostgreSQL tests skipped: {missing}")


@pytest.fixture(scope="session")
def postgres_server(postgres_bin_dir: Path) -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session (a test that stops it starts its own)."""
    with start_server(postgres_bin_dir) as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the session's PostgreSQL server, dropped after the test."""
    with postgres_server.database() as url:
        yield url


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database (not yet migrated): a SQLite file (not yet created), or a
    PostgreSQL database when parametrised with ``postgresql``."""
    if getattr(request, "param", "sqlite") == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        with server.database() as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'db' / 'wiretrace.db'}"


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
