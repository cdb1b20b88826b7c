"""Fixtures for SDK tests: a local collector and an initialised SDK pointing at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import wiretrace
from wiretrace import _state

from .collector import Collector


@pytest.fixture
def collector() -> Iterator[Collector]:
    c = Collector()
    yield c
    c.stop()


@pytest.fixture
def traced(collector: Collector) -> Iterator[Collector]:
    """``wiretrace.init`` against the collector; undone (and flushed) afterwards."""
    wiretrace.init(project="test", url=collector.url)
    yield collector
    _state.reset()


@pytest.fixture(autouse=True)
def _never_leak_init() -> Iterator[None]:
    yield
    if _state.STATE.exporter is not None:
        _state.reset()
