"""The export queue and thread: bounded (a full queue drops and counts), never exports a
running record or one that came in over OTLP, counts what the backend refuses, and a stop
exports what is queued within its deadline and counts the rest."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator, Sequence

import pytest
from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.otlp_export.encode import EncodeOptions
from wiretrace_proxy.otlp_export.exporter import OtlpExporter
from wiretrace_proxy.otlp_export.sender import Sender

from tests.factories import make_record
from tests.proxy.otlp_export.receiver import Answer, OtlpReceiver, otlp_receiver
from tests.proxy.otlp_export.test_sender import closed_port_url


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with otlp_receiver() as rx:
        yield rx


def exporter_for(url: str, **options: float) -> OtlpExporter:
    interrupt = threading.Event()
    sender = Sender(url, backoff_base=0.02, interrupt=interrupt)
    return OtlpExporter(sender, url, EncodeOptions(), interrupt=interrupt, **options)  # type: ignore[arg-type]


def span_ids(receiver: OtlpReceiver) -> list[str]:
    return [span.span_id.hex() for _, span in receiver.spans()]


def test_each_offered_record_arrives_once_in_batches(receiver: OtlpReceiver) -> None:
    exporter = exporter_for(receiver.url, batch_size=3)
    exporter.start()
    try:
        exporter.offer([make_record(n) for n in range(1, 8)])
        assert exporter.flush(10)
        assert sorted(span_ids(receiver)) == [f"{n:016x}" for n in range(1, 8)]
        assert [
            len(r.request.resource_spans[0].scope_spans[0].spans) for r in receiver.received
        ] == [3, 3, 1]
        stats = exporter.stats()
        assert (stats.sent, stats.queued, stats.dropped, stats.retries) == (7, 0, 0, 0)
    finally:
        assert exporter.stop(5)


def test_running_ingested_and_malformed_records_are_not_exported(receiver: OtlpReceiver) -> None:
    exporter = exporter_for(receiver.url)
    exporter.start()
    try:
        exporter.offer(
            [
                make_record(1, status="running"),
                make_record(2, attributes={"wiretrace.source": "otlp"}),
                make_record(3, id="call-3"),
                make_record(4),
            ]
        )
        assert exporter.flush(10)
        assert span_ids(receiver) == [f"{4:016x}"]
        assert exporter.stats().dropped == 0  # skipped by rule, not lost
    finally:
        exporter.stop(5)


def test_a_full_queue_drops_and_counts_without_blocking() -> None:
    exporter = exporter_for(closed_port_url(), max_queue=3)  # not started: nothing drains
    started = time.perf_counter()
    exporter.offer([make_record(n) for n in range(1, 11)])
    assert time.perf_counter() - started < 0.5
    stats = exporter.stats()
    assert (stats.queued, stats.dropped) == (3, 7)


def test_a_400_is_not_retried_and_its_spans_are_counted_dropped(receiver: OtlpReceiver) -> None:
    receiver.script(Answer(400))
    exporter = exporter_for(receiver.url)
    exporter.start()
    try:
        exporter.offer([make_record(1), make_record(2)])
        assert exporter.flush(10)
        exporter.offer([make_record(3)])
        assert exporter.flush(10)
        stats = exporter.stats()
        assert (stats.sent, stats.dropped, stats.retries) == (1, 2, 0)
        assert stats.last_error is not None and "HTTP 400" in stats.last_error
        assert [r.answered for r in receiver.received] == [400, 200]
        assert span_ids(receiver) == [f"{3:016x}"]
    finally:
        exporter.stop(5)


def test_a_503_then_200_is_retried_and_counted(receiver: OtlpReceiver) -> None:
    receiver.script(Answer(503), Answer(503, {"Retry-After": "0"}))
    exporter = exporter_for(receiver.url)
    exporter.start()
    try:
        exporter.offer([make_record(1)])
        assert exporter.flush(10)
        stats = exporter.stats()
        assert (stats.sent, stats.dropped, stats.retries) == (1, 0, 2)
        assert span_ids(receiver) == [f"{1:016x}"]  # once, though sent three times
    finally:
        exporter.stop(5)


def test_stop_flushes_what_is_queued(receiver: OtlpReceiver) -> None:
    exporter = exporter_for(receiver.url, schedule_delay=60)  # would not send for a minute
    exporter.start()
    exporter.offer([make_record(n) for n in range(1, 4)])
    assert receiver.received == []
    assert exporter.stop(5)
    assert sorted(span_ids(receiver)) == [f"{n:016x}" for n in range(1, 4)]
    assert exporter.stats().sent == 3


def test_stop_with_the_backend_down_ends_by_its_deadline_and_counts_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exporter = exporter_for(closed_port_url(), schedule_delay=60, batch_size=2)
    exporter.start()
    exporter.offer([make_record(n) for n in range(1, 6)])
    started = time.monotonic()
    assert not exporter.stop(0.5)
    assert time.monotonic() - started < 2
    stats = exporter.stats()
    assert (stats.sent, stats.queued, stats.dropped) == (0, 0, 5)
    assert "5 spans not exported" in caplog.text


def test_records_offered_after_stop_are_counted_dropped(receiver: OtlpReceiver) -> None:
    exporter = exporter_for(receiver.url)
    exporter.start()
    assert exporter.stop(5)
    exporter.offer([make_record(1)])
    assert exporter.stats().dropped == 1


def test_llm_calls_are_held_back_and_exported_as_stored_then(receiver: OtlpReceiver) -> None:
    """With a stored-records lookup, a proxied LLM call waits out the merge window and goes
    out as it is stored by then (folded into the app's trace); an SDK span goes at once; a
    call deleted meanwhile is counted dropped."""
    stored = {f"{n:016x}": make_record(n) for n in (1, 2)}
    lookup_calls: list[list[str]] = []

    def lookup(ids: Sequence[str]) -> dict[str, CallRecord]:
        lookup_calls.append(list(ids))
        return {i: stored[i] for i in ids if i in stored}

    exporter = exporter_for(receiver.url, schedule_delay=0.05, merge_window=60)
    exporter._current = lookup  # the server passes its database's (``otlp_export/stored.py``)
    exporter.start()
    try:
        exporter.offer([make_record(1), make_record(2, kind="op"), make_record(3)])
        [(_, sdk_span)] = receiver.wait_spans(1)
        assert sdk_span.span_id.hex() == f"{2:016x}"
        deadline = time.monotonic() + 10
        while exporter.stats().sent < 1 and time.monotonic() < deadline:
            time.sleep(0.01)  # the thread counts the answer after the receiver has it
        assert exporter.stats().queued == 2  # the two calls, held
        stored[f"{1:016x}"] = dataclasses.replace(stored[f"{1:016x}"], trace_id="f" * 32)
        assert exporter.flush(10)  # a flush does not wait for the window
        assert lookup_calls == [[f"{1:016x}", f"{3:016x}"]]
        spans = {span.span_id.hex(): span for _, span in receiver.spans()}
        assert sorted(spans) == [f"{1:016x}", f"{2:016x}"]
        assert spans[f"{1:016x}"].trace_id.hex() == "f" * 32  # the stored version
        assert (exporter.stats().queued, exporter.stats().dropped) == (0, 1)
    finally:
        assert exporter.stop(5)


def test_a_held_call_goes_out_when_its_window_passes(receiver: OtlpReceiver) -> None:
    exporter = exporter_for(receiver.url, schedule_delay=0.05, merge_window=0.2)
    exporter._current = lambda ids: {f"{1:016x}": make_record(1)}
    exporter.start()
    try:
        started = time.monotonic()
        exporter.offer([make_record(1)])
        receiver.wait_spans(1)  # no flush asked for
        assert time.monotonic() - started >= 0.2
    finally:
        assert exporter.stop(5)
