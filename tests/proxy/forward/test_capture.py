"""The capture's caps: a body is kept up to ``max_body_bytes`` exactly, and a body over it
keeps a bounded tail (``TAIL_BYTES``) so a long stream's end reaches the record."""

from __future__ import annotations

from wiretrace_proxy.forward.capture import TAIL_BYTES

from tests.factories import make_capture


def test_the_head_is_kept_to_the_byte_and_the_tail_is_bounded() -> None:
    chunks = [bytes([65 + n % 26]) * 1000 for n in range(500)]  # 500 kB in 1 kB chunks
    capture = make_capture(chunks=chunks, max_body_bytes=2500)
    assert capture.response_size == 500_000 and capture.response_truncated
    assert capture.body == b"A" * 1000 + b"B" * 1000 + b"C" * 500
    tail = b"".join(capture.tail)
    assert TAIL_BYTES <= len(tail) < TAIL_BYTES + 1000
    assert tail == b"".join(chunks)[-len(tail) :]


def test_a_body_under_the_cap_has_no_tail() -> None:
    capture = make_capture(chunks=[b"x" * 100] * 3, max_body_bytes=300)
    assert not capture.response_truncated and not capture.tail and capture.body == b"x" * 300
