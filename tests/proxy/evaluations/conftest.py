from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness import Servers


@pytest.fixture
def servers(db_url: str) -> Iterator[Servers]:
    """The fake upstream and wiretrace on ``db_url`` (SQLite, and PostgreSQL in modules
    marked ``both_databases``)."""
    s = Servers(db_url, key_salt="test-salt")
    try:
        yield s
    finally:
        s.close()
