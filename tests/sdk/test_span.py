"""Span ids and the events sent to ``POST /api/spans``.

The event shape is the span API's (``docs/architecture.md``, "The contract": API shapes); ids
are the trace-id and parent-id of W3C Trace Context §3.2.2.
"""

from __future__ import annotations

import os
import random
import re

import pytest
from wiretrace._span import Span, new_span_id, new_trace_id
from wiretrace._traceparent import parse_traceparent

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
EVENT_KEYS = {
    "id",
    "trace_id",
    "parent_id",
    "project",
    "op_name",
    "display_name",
    "started_at",
    "ended_at",
    "status",
    "inputs",
    "output",
    "error",
    "attributes",
    "op_version",
    "model_version",
}


def test_ids_are_lowercase_hex_of_the_right_length_and_unique() -> None:
    spans = {new_span_id() for _ in range(2000)}
    traces = {new_trace_id() for _ in range(2000)}
    assert len(spans) == len(traces) == 2000
    assert all(re.fullmatch(r"[0-9a-f]{16}", s) for s in spans)
    assert all(re.fullmatch(r"[0-9a-f]{32}", t) for t in traces)


def test_seeding_the_global_random_does_not_repeat_ids() -> None:
    random.seed(0)
    first = new_span_id()
    random.seed(0)
    assert new_span_id() != first


def test_start_and_end_events() -> None:
    span = Span("op", new_trace_id(), None, "proj", {"x": 1})
    span.attributes["tag"] = {1, 2}
    start = span.to_event(final=False)
    assert set(start) == EVENT_KEYS
    assert start["status"] == "running" and start["ended_at"] is None
    assert ISO.match(str(start["started_at"]))
    assert start["attributes"] == {"tag": [1, 2]}  # serialised when sent
    span.output, span.status, span.ended_ns = "out", "ok", span.started_ns + 1_500_000
    end = span.to_event(final=True)
    assert end["status"] == "ok" and end["output"] == "out"
    assert ISO.match(str(end["ended_at"])) and str(end["ended_at"]) > str(end["started_at"])
    assert span.to_event(final=False)["status"] == "running"  # the start stays a start


def test_traceparent_names_this_span() -> None:
    span = Span("op", new_trace_id(), None)
    parsed = parse_traceparent(span.traceparent)
    assert parsed is not None and (parsed.trace_id, parsed.span_id) == (span.trace_id, span.id)
    assert span.id in repr(span)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_draws_different_ids() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(write, new_span_id().encode())
        finally:
            os._exit(0)
    os.close(write)
    child_id = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert len(child_id) == 16 and child_id != new_span_id()
