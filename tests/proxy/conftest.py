from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import Servers


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    s = Servers(f"sqlite:///{tmp_path / 'wiretrace.db'}", key_salt="test-salt")
    try:
        yield s
    finally:
        s.close()
