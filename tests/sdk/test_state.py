"""``init()`` and ``finish()``: configuration, idempotence, never raising."""

from __future__ import annotations

import logging

import pytest
import wiretrace
from wiretrace import _exporter, _inject, _state

from .collector import Collector


@wiretrace.op(name="noop")
def noop() -> int:
    return 1


def test_init_twice_is_harmless_and_updates_settings(collector: Collector) -> None:
    wiretrace.init(project="one", url=collector.url + "/")
    exporter = _state.STATE.exporter
    wiretrace.init(project="two", url=collector.url)
    assert _state.STATE.exporter is exporter and exporter is not None
    assert exporter.url == collector.url and _state.STATE.project == "two"
    noop()
    assert wiretrace.finish(10)
    assert collector.one("noop")["project"] == "two"
    assert len(collector.events) == 2 - exporter.merged  # start and end, or both as one


def test_environment_variables(collector: Collector, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIRETRACE_URL", collector.url)
    monkeypatch.setenv("WIRETRACE_PROJECT", "from-env")
    wiretrace.init()
    noop()
    assert wiretrace.finish(10)
    assert collector.one("noop")["project"] == "from-env"


def test_default_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WIRETRACE_URL", raising=False)
    wiretrace.init()
    assert _state.STATE.url == _state.DEFAULT_URL == "http://127.0.0.1:8787"


def test_bad_url_warns_and_leaves_tracing_off(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="wiretrace"):
        wiretrace.init(url="localhost:8787")
    assert _state.STATE.exporter is None and not _inject.installed()
    assert "not http" in caplog.text
    assert noop() == 1


def test_init_never_raises(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, collector: Collector
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("exporter cannot start")

    monkeypatch.setattr(_exporter, "Exporter", broken)
    with caplog.at_level(logging.WARNING, logger="wiretrace"):
        wiretrace.init(url=collector.url)
    assert "init failed" in caplog.text
    assert noop() == 1


def test_finish_without_init_returns_true() -> None:
    assert wiretrace.finish() is True
    assert wiretrace.finish(0) is True
