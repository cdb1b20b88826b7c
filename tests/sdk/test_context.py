"""The current span, and the remote parent a process inherits in its ``TRACEPARENT``."""

from __future__ import annotations

import pytest
import wiretrace
from wiretrace._context import current_traceparent

from .collector import Collector

REMOTE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@wiretrace.op(name="root")
def root() -> str | None:
    span = wiretrace.current_span()
    assert span is not None and span.op_name == "root"
    return current_traceparent()


def test_current_span_inside_and_outside(traced: Collector) -> None:
    assert wiretrace.current_span() is None and current_traceparent() is None
    inside = root()
    assert wiretrace.current_span() is None
    assert wiretrace.finish(10)
    event = traced.one("root")
    assert inside == f"00-{event['trace_id']}-{event['id']}-01"


def test_traceparent_environment_variable_parents_root_spans(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACEPARENT", REMOTE)
    wiretrace.init(url=collector.url)
    assert current_traceparent() == REMOTE  # proxied calls outside any op join it too
    root()
    assert wiretrace.finish(10)
    event = collector.one("root")
    assert event["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert event["parent_id"] == "b7ad6b7169203331"


def test_invalid_traceparent_environment_variable_is_ignored(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACEPARENT", "00-not-a-trace-01")
    wiretrace.init(url=collector.url)
    root()
    assert wiretrace.finish(10)
    event = collector.one("root")
    assert event["parent_id"] is None and event["trace_id"] != "0af7651916cd43dd8448eb211c80319c"
