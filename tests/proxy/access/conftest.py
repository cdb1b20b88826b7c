"""Servers with access control on: ``TOKEN`` (and ``OTHER``, for rotation) open the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import Servers

TOKEN = "tok-primary-6f1d0c3a9b8e4d21"
OTHER = "tok-rotated-0a7c55e2d3f94b10"
PROXY_TOKEN = "ptk-apps-4c2b91d07e6a3f58"


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[Servers]:
    """The API and UI need ``TOKEN`` or ``OTHER``."""
    s = Servers(f"sqlite:///{tmp_path / 'w.db'}", key_salt="s", auth_tokens=(TOKEN, OTHER))
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def open_servers(tmp_path: Path) -> Iterator[Servers]:
    """No token: open, as by default on loopback (the host and origin checks still hold)."""
    s = Servers(f"sqlite:///{tmp_path / 'w.db'}", key_salt="s")
    try:
        yield s
    finally:
        s.close()
