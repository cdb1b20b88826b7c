"""One export against a real local receiver, with the OTLP/HTTP retry rules: 429, 502,
503 and 504 and connection failures are retried (``Retry-After`` honoured, else an
exponential backoff), any other status is final, and nothing is tried past the deadline."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceResponse,
)
from wiretrace_proxy.otlp_export.encode import EncodeOptions, encode_request, encode_span
from wiretrace_proxy.otlp_export.sender import MAX_ATTEMPTS, Sender, _rejected, retry_after

from tests.factories import make_record
from tests.proxy.otlp_export.receiver import Answer, OtlpReceiver, otlp_receiver

BODY = encode_request(
    [("p", encode_span(make_record(n), EncodeOptions()).SerializeToString()) for n in (1, 2)]
)


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with otlp_receiver() as rx:
        yield rx


def in_seconds(seconds: float) -> float:
    return time.monotonic() + seconds


def test_a_200_sends_the_spans_gzipped_with_the_headers(receiver: OtlpReceiver) -> None:
    sender = Sender(receiver.url, (("Authorization", "Bearer k"), ("x-project", "shop")))
    outcome = sender.send(BODY, 2, lambda: in_seconds(10))
    assert (outcome.sent, outcome.retries, outcome.error) == (True, 0, None)
    (got,) = receiver.wait_requests(1)
    assert got.headers["content-type"] == "application/x-protobuf"
    assert got.headers["content-encoding"] == "gzip"
    assert got.headers["authorization"] == "Bearer k" and got.headers["x-project"] == "shop"
    assert got.headers["user-agent"].startswith("wiretrace-otlp-exporter/")
    assert len(receiver.spans()) == 2


def test_without_gzip_the_body_is_plain(receiver: OtlpReceiver) -> None:
    assert Sender(receiver.url, gzip_body=False).send(BODY, 2, lambda: in_seconds(10)).sent
    (got,) = receiver.wait_requests(1)
    assert "content-encoding" not in got.headers and len(receiver.spans()) == 2


def test_a_503_with_retry_after_is_retried_after_it(receiver: OtlpReceiver) -> None:
    receiver.script(Answer(503, {"Retry-After": "1"}))
    outcome = Sender(receiver.url, backoff_base=0.01).send(BODY, 2, lambda: in_seconds(10))
    assert (outcome.sent, outcome.retries) == (True, 1)
    first, second = receiver.wait_requests(2)
    assert second.at - first.at >= 0.95  # Retry-After, not the 10 ms backoff
    assert len(receiver.spans()) == 2


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_a_retryable_status_without_retry_after_backs_off_and_retries(
    receiver: OtlpReceiver, status: int
) -> None:
    receiver.script(Answer(status), Answer(status))
    outcome = Sender(receiver.url, backoff_base=0.05).send(BODY, 2, lambda: in_seconds(10))
    assert (outcome.sent, outcome.retries) == (True, 2)
    first, second, third = receiver.wait_requests(3)
    assert second.at - first.at >= 0.05 * 0.8
    assert third.at - second.at >= 0.1 * 0.8  # doubled
    assert len(receiver.spans()) == 2


@pytest.mark.parametrize("status", [302, 307, 400, 401, 404, 413, 500])
def test_any_other_status_is_final(receiver: OtlpReceiver, status: int) -> None:
    receiver.script(Answer(status, {"Location": receiver.url}))  # a redirect is not followed
    outcome = Sender(receiver.url, backoff_base=0.01).send(BODY, 2, lambda: in_seconds(10))
    assert not outcome.sent and outcome.retries == 0
    assert outcome.error is not None and f"HTTP {status}" in outcome.error
    assert len(receiver.wait_requests(1)) == 1
    time.sleep(0.1)  # a retry would have come within 10 ms
    assert len(receiver.received) == 1


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1/traces"


def test_a_refused_connection_is_retried_up_to_the_attempt_limit() -> None:
    outcome = Sender(closed_port_url(), backoff_base=0.001).send(BODY, 2, lambda: in_seconds(10))
    assert not outcome.sent
    assert outcome.retries == MAX_ATTEMPTS - 1
    assert outcome.error is not None and "cannot reach" in outcome.error


def test_no_try_is_made_whose_wait_passes_the_deadline(receiver: OtlpReceiver) -> None:
    receiver.script(Answer(503, {"Retry-After": "30"}))
    started = time.monotonic()
    outcome = Sender(receiver.url).send(BODY, 2, lambda: started + 5)
    assert not outcome.sent and outcome.retries == 0
    assert time.monotonic() - started < 2  # gave up at once rather than wait 30 s
    assert len(receiver.received) == 1


def test_a_slow_receiver_is_cut_at_the_deadline(receiver: OtlpReceiver) -> None:
    receiver.script(Answer(200, delay=5))
    started = time.monotonic()
    outcome = Sender(receiver.url).send(BODY, 2, lambda: started + 0.5)
    assert not outcome.sent
    assert time.monotonic() - started < 2


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)

    def headers(value: str) -> Message:
        message = Message()
        message["Retry-After"] = value
        return message

    assert retry_after(headers("7"), now) == 7.0
    assert retry_after(headers("Thu, 01 Jan 2026 12:00:30 GMT"), now) == 30.0
    assert retry_after(headers("Thu, 01 Jan 2026 11:00:00 GMT"), now) == 0.0
    assert retry_after(headers("soon"), now) is None
    assert retry_after(Message(), now) is None


def test_a_partial_success_counts_its_rejected_spans() -> None:
    response = ExportTraceServiceResponse()
    response.partial_success.rejected_spans = 3
    response.partial_success.error_message = "too old"
    assert _rejected(response.SerializeToString()) == 3
    assert _rejected(ExportTraceServiceResponse().SerializeToString()) == 0
    assert _rejected(b"\xff\xff not protobuf") == 0
