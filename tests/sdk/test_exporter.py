"""The exporter: spans sent in background batches that never hurt the app.

Server down: the app still works, one warning, a drop counter. Retry until the server
comes back. ``flush``/``shutdown`` always return. A script that exits right after its last
op, without ``finish()``, loses nothing. Fork-safe. The exporter's own requests carry the
wire headers and are never traced.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import pytest
import wiretrace
from wiretrace import _state
from wiretrace._exporter import BATCH_SIZE, REQUEST_TIMEOUT
from wiretrace._state import EXIT_TIMEOUT

from .collector import Collector, free_port


@wiretrace.op(name="step")
def step(i: int) -> int:
    return i * 2


@wiretrace.op(name="job")
def job(n: int) -> int:
    return sum(step(i) for i in range(n))


class _WarningSeen(logging.Handler):
    """Sets ``seen`` on the first wiretrace WARNING (so tests wait on an event)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen = threading.Event()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.seen.set()


@pytest.fixture
def warnings_seen() -> Iterator[_WarningSeen]:
    handler = _WarningSeen()
    logger = logging.getLogger("wiretrace")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def _exporter() -> wiretrace._exporter.Exporter:
    exporter = _state.STATE.exporter
    assert exporter is not None
    return exporter


def test_requests_carry_wire_headers_and_are_never_traced(traced: Collector) -> None:
    @wiretrace.op(name="outer")
    def outer() -> None:
        step(1)
        assert wiretrace.finish(10)  # the exporter sends while a span is current

    outer()
    assert wiretrace.finish(10)
    assert traced.requests
    for headers in traced.requests:
        assert headers["content-type"] == "application/json"
        assert headers["wiretrace-sdk"] == "1"
        assert "traceparent" not in headers


def test_batches_are_bounded_and_everything_arrives(traced: Collector) -> None:
    assert job(1500) == sum(i * 2 for i in range(1500))
    assert wiretrace.finish(10)
    assert len(traced.by_name("step")) == 1500
    exporter = _exporter()  # an end submitted while its start waited is sent as one event
    assert len(traced.events) == 2 * 1501 - exporter.merged
    assert max(traced.batch_sizes) <= BATCH_SIZE
    assert exporter.sent == 2 * 1501 - exporter.merged and exporter.dropped == 0


def test_a_span_ending_while_its_start_waits_takes_one_place(traced: Collector) -> None:
    """Instant ops (an evaluation's rows) fill the buffer half as fast: a buffer of 10
    holds 10 finished spans, where their starts and ends apart would overflow it."""
    exporter = _exporter()
    exporter.max_queue = 10
    assert [step(i) for i in range(10)] == [i * 2 for i in range(10)]
    assert exporter.merged == 10 and exporter.dropped == 0
    assert wiretrace.finish(10)
    events = traced.by_name("step")
    assert sorted(e["inputs"]["i"] for e in events) == list(range(10))
    assert len(traced.events) == 10 and {e["status"] for e in events} == {"ok"}
    assert [e["output"] for e in sorted(events, key=lambda e: e["inputs"]["i"])] == [
        i * 2 for i in range(10)
    ]


def test_server_down_app_works_one_warning_and_drops_counted(
    warnings_seen: _WarningSeen,
) -> None:
    wiretrace.init(url=f"http://127.0.0.1:{free_port()}")
    exporter = _exporter()
    exporter.max_queue = 5
    for _ in range(3):
        assert job(6) == 30  # 7 spans, 14 events per call
    started = time.monotonic()
    assert wiretrace.finish(0.3) is False
    assert time.monotonic() - started < 2
    assert exporter.shutdown(5)
    assert exporter.sent == 0
    # each event dropped when full, undeliverable at shutdown, or merged into its start
    assert exporter.dropped + exporter.merged == 3 * 14
    assert len(warnings_seen.records) == 1
    assert "wiretrace:" in warnings_seen.records[0].getMessage()


def test_retries_until_the_server_comes_back(warnings_seen: _WarningSeen) -> None:
    port = free_port()
    wiretrace.init(url=f"http://127.0.0.1:{port}")
    job(2)
    assert wiretrace.finish(0.01) is False  # wakes the exporter: its first POST fails
    assert warnings_seen.seen.wait(10)
    late = Collector(port)
    try:
        assert wiretrace.finish(10)
        assert len(late.finals()) == 3 and _exporter().dropped == 0
    finally:
        late.stop()


def test_rejected_batch_is_dropped_and_5xx_is_retried(traced: Collector) -> None:
    traced.status = 400
    step(1)
    assert wiretrace.finish(10) is False
    assert _exporter().dropped + _exporter().merged == 2
    traced.status = 503
    step(2)
    assert wiretrace.finish(0.01) is False
    assert traced.wait_for(lambda c: len(c.requests) >= 2)
    traced.status = 200
    assert wiretrace.finish(10)
    assert [e["inputs"]["i"] for e in traced.by_name("step")] == [2]


def test_flush_and_shutdown_return_when_the_server_hangs() -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        wiretrace.init(url=f"http://127.0.0.1:{silent.getsockname()[1]}")
        step(1)
        started = time.monotonic()
        assert wiretrace.finish(0.3) is False
        _exporter().shutdown(0.5)
        assert time.monotonic() - started < 3


def test_ops_never_wait_for_a_server_that_hangs() -> None:
    """The exporter's POST is stuck on a server that took the connection and never answers:
    the app's ops only append to the buffer, so they run at full speed and never raise."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        silent.settimeout(10)
        wiretrace.init(url=f"http://127.0.0.1:{silent.getsockname()[1]}")
        step(0)
        assert wiretrace.finish(0.01) is False  # wakes the exporter: it connects and waits
        held, _ = silent.accept()
        with held:
            started = time.monotonic()
            assert job(2000) == sum(i * 2 for i in range(2000))
            elapsed = time.monotonic() - started
            assert elapsed < REQUEST_TIMEOUT / 2, elapsed  # far from the POST's own timeout
            assert _exporter().sent == 0
            started = time.monotonic()
            _exporter().shutdown(0.5)  # and the end of the app does not wait it out either
            assert time.monotonic() - started < 3


def _run_script(body: str, url: str) -> subprocess.CompletedProcess[str]:
    script = textwrap.dedent(
        """
        import logging, sys
        import wiretrace
        logging.basicConfig(level=logging.INFO, stream=sys.stderr)
        wiretrace.init(project="script", url=sys.argv[1])

        @wiretrace.op(name="leaf")
        def leaf(i):
            return i

        @wiretrace.op(name="main")
        def main(n):
            return [leaf(i) for i in range(n)]
        """
    )
    return subprocess.run(
        [sys.executable, "-c", script + textwrap.dedent(body), url],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_script_exiting_right_after_its_last_op_loses_nothing(collector: Collector) -> None:
    done = _run_script("print(sum(main(200)))", collector.url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(sum(range(200)))
    assert len(collector.by_name("leaf")) == 200
    assert collector.one("main")["project"] == "script"


def test_script_with_the_server_down_succeeds_and_says_so_once() -> None:
    started = time.monotonic()
    done = _run_script("print(len(main(50)))", f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "50"
    warnings = [line for line in done.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1 and "wiretrace" in warnings[0], done.stderr
    assert time.monotonic() - started < EXIT_TIMEOUT  # exit does not wait out the deadline


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_child_sends_only_its_own_spans(traced: Collector) -> None:
    @wiretrace.op(name="outer")
    def outer() -> int:
        step(1)  # buffered in the parent when it forks: must not be sent twice
        pid = os.fork()
        if pid == 0:
            try:
                step(2)
            except BaseException:
                os._exit(3)
        return pid

    pid = outer()
    if pid == 0:  # the child: its copy of `outer` ended above but must not be sent
        os._exit(0 if wiretrace.finish(10) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert wiretrace.finish(10)
    outer_event = traced.one("outer")
    assert outer_event["output"] == pid
    assert sorted(e["inputs"]["i"] for e in traced.by_name("step")) == [1, 2]
    assert {e["parent_id"] for e in traced.by_name("step")} == {outer_event["id"]}
    counts: dict[str, int] = {}
    for event in traced.events:
        counts[event["id"]] = counts.get(event["id"], 0) + 1
    assert set(counts.values()) <= {1, 2}  # a start and an end, or one event for both
