"""usage_option: inject include_usage upstream, strip it downstream (on any split of any
stream, in work linear in its bytes)."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wiretrace_proxy.forward import include_usage
from wiretrace_proxy.forward.include_usage import (
    HOLD_LIMIT,
    INJECT_LIMIT,
    UsageChunkFilter,
    inject_include_usage,
    is_usage_only,
)

from tests.fakes.fake_streams import chat_plan


def test_injection_splices_option_and_keeps_other_bytes() -> None:
    body = b'  {"model": "gpt-4o",  "stream": true, "messages": []}'
    out = inject_include_usage(body)
    assert out is not None
    assert json.loads(out)["stream_options"] == {"include_usage": True}
    assert out.replace(b'"stream_options":{"include_usage":true},', b"") == body


def test_injection_merges_existing_options_and_skips_when_not_needed() -> None:
    merged = inject_include_usage(b'{"stream":true,"stream_options":{"include_obfuscation":false}}')
    assert merged is not None
    assert json.loads(merged)["stream_options"] == {
        "include_obfuscation": False,
        "include_usage": True,
    }
    assert inject_include_usage(b'{"stream":true,"stream_options":{"include_usage":true}}') is None
    assert inject_include_usage(b'{"stream":false}') is None
    assert inject_include_usage(b'{"messages":[{"content":"\\"stream\\": true"}]}') is None
    assert inject_include_usage(b"not json") is None
    assert inject_include_usage(b"[1,2]") is None


def _filtered(stream: bytes, sizes: list[int]) -> bytes:
    f = UsageChunkFilter()
    out, pos = [], 0
    for size in sizes:
        out.append(f.feed(stream[pos : pos + size]))
        pos += size
    out.append(f.feed(stream[pos:]))
    out.append(f.flush())
    return b"".join(out)


def test_filter_restores_the_stream_the_client_asked_for_under_any_chunking() -> None:
    plan = chat_plan({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}, "")
    with_usage = b"".join(plan.chunks(include_usage=True))
    without = b"".join(plan.chunks(include_usage=False))
    assert with_usage != without
    rng = random.Random(7)
    for _ in range(50):
        sizes = [rng.randint(1, 64) for _ in range(rng.randint(0, 40))]
        assert _filtered(with_usage, sizes) == without


def test_usage_only_detection_ignores_content_that_mentions_usage() -> None:
    assert is_usage_only(b'data: {"choices":[],"usage":{"total_tokens":3}}\n\n')
    assert not is_usage_only(b'data: {"choices":[],"usage":null}\n\n')
    tricky = b'data: {"choices":[{"delta":{"content":"\\"choices\\":[] \\"usage\\""}}]}\n\n'
    assert not is_usage_only(tricky)
    f = UsageChunkFilter()
    assert f.feed(tricky) == tricky


def test_a_body_that_does_not_parse_within_limits_is_left_alone() -> None:
    deep = b'{"stream":true,"messages":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert inject_include_usage(deep) is None
    deep_options = b'{"stream":true,"stream_options":' + b'{"a":' * 5000 + b"1" + b"}" * 5001
    assert inject_include_usage(deep_options) is None
    big = b'{"stream":true,"x":"' + b"a" * INJECT_LIMIT + b'"}'
    assert inject_include_usage(big) is None
    assert inject_include_usage(bytearray(b'{"stream":true}')) == (
        b'{"stream_options":{"include_usage":true},"stream":true}'
    )


# The filter over hostile streams: bounded hold-back, linear work, exact output.

BASE = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}


def _event(choices: list[Any], *, usage: object = ..., crlf: bool = False) -> bytes:
    chunk: dict[str, Any] = {**BASE, "choices": choices}
    if usage is not ...:
        chunk["usage"] = usage
    end = b"\r\n\r\n" if crlf else b"\n\n"
    return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + end


def _streams(contents: list[str], crlf: bool = False) -> tuple[bytes, bytes]:
    """(what the upstream sends with include_usage, what the client should get)."""
    deltas = [[{"index": 0, "delta": {"content": c}, "finish_reason": None}] for c in contents]
    sent = [_event(d, usage=None, crlf=crlf) for d in deltas]
    sent.append(_event([], usage={"prompt_tokens": 1, "completion_tokens": 2}, crlf=crlf))
    want = [_event(d, crlf=crlf) for d in deltas]
    done = b"data: [DONE]\r\n\r\n" if crlf else b"data: [DONE]\n\n"
    return b"".join(sent) + done, b"".join(want) + done


class _Counted(bytes):
    """A chunk that counts the bytes its searches look at."""

    seen = 0

    def find(self, sub: Any, start: Any = 0, *rest: Any) -> int:
        found = bytes.find(self, sub, start, *rest)
        _Counted.seen += (found + len(sub) if found >= 0 else len(self)) - start
        return found

    def __contains__(self, sub: Any) -> bool:
        _Counted.seen += len(self)
        return bytes.__contains__(self, sub)


class _CountingPattern:
    def __init__(self, pattern: re.Pattern[bytes]) -> None:
        self.pattern = pattern

    def search(self, data: bytes, pos: int = 0) -> re.Match[bytes] | None:
        match = self.pattern.search(data, pos)
        _Counted.seen += (match.end() if match else len(data)) - pos
        return match


def _scanned(stream: bytes, size: int, monkeypatch: pytest.MonkeyPatch) -> tuple[int, bytes]:
    monkeypatch.setattr(include_usage, "_EVENT_END", _CountingPattern(include_usage._EVENT_END))
    _Counted.seen = 0
    f = UsageChunkFilter()
    out = [f.feed(_Counted(stream[i : i + size])) for i in range(0, len(stream), size)]
    out.append(f.flush())
    return _Counted.seen, b"".join(out)


@pytest.mark.parametrize(
    ("contents", "size"),
    [
        (["x" * (20 * 1024 * 1024)], 65536),  # one 20 MB event
        (["é" * 10_000], 1),  # a 20 kB event (under the hold limit), byte by byte
        (["ab"] * 5_000, 65536),  # many small events per chunk
    ],
    ids=["20MB-event", "held-event-1-byte-chunks", "small-events"],
)
def test_the_filter_looks_at_each_byte_a_bounded_number_of_times(
    contents: list[str], size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    for crlf in (False, True):
        stream, want = _streams(contents, crlf)
        seen, got = _scanned(stream, size, monkeypatch)
        assert got == want
        chunks = -(-len(stream) // size)
        assert seen <= 3 * len(stream) + 16 * chunks, (crlf, seen, len(stream))


def test_an_event_too_big_to_be_usage_is_relayed_as_it_arrives() -> None:
    stream, want = _streams(["y" * (3 * 1024 * 1024)])
    f = UsageChunkFilter()
    fed = sent = 0
    size = 50_000
    for i in range(0, len(stream), size):
        chunk = stream[i : i + size]
        fed += len(chunk)
        sent += len(f.feed(chunk))
        assert fed - sent <= HOLD_LIMIT + size  # never more than that is held back
    assert sent + len(f.flush()) == len(want)


_TEXT = st.lists(
    st.sampled_from(["a", "é", '"', "\\", "\n", "\r", " ", ',"usage":null', '"choices":[]', "👋"]),
    max_size=30,
).map("".join)


@st.composite
def _contents(draw: st.DrawFn) -> list[str]:
    """Delta texts: short ones, and some repeated past the hold limit."""
    items = draw(st.lists(st.tuples(_TEXT, st.sampled_from([1, 1, 1, 3000, 40_000])), max_size=6))
    return [text * times for text, times in items]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contents=_contents(), crlf=st.booleans(), data=st.data())
def test_the_client_gets_the_stream_without_the_option_for_any_split(
    contents: list[str], crlf: bool, data: st.DataObject
) -> None:
    stream, want = _streams(contents, crlf)
    cuts = sorted(data.draw(st.sets(st.integers(0, len(stream)), max_size=40)))
    if data.draw(st.booleans()):  # and cuts right around each delimiter
        near = [m.start() + k for m in re.finditer(rb"\n", stream) for k in (0, 1)]
        near += [m.start() + k for m in re.finditer(rb',"usage":null', stream) for k in (1, 7, 12)]
        cuts = sorted({*cuts, *(c for c in near if c <= len(stream))})
    f = UsageChunkFilter()
    out, pos = [], 0
    for cut in [*cuts, len(stream)]:
        out.append(f.feed(stream[pos:cut]))
        pos = cut
    out.append(f.flush())
    assert b"".join(out) == want


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contents=_contents(), crlf=st.booleans(), data=st.data())
def test_held_counts_the_fed_bytes_not_yet_given_back(
    contents: list[str], crlf: bool, data: st.DataObject
) -> None:
    """What the handler counts as handed to the client (``fed - held``): after every feed,
    the filter has sent exactly what the same stream cut there would give the client."""
    stream, _want = _streams(contents, crlf)
    cuts = sorted(data.draw(st.sets(st.integers(0, len(stream)), max_size=20)))
    f = UsageChunkFilter()
    sent, pos = b"", 0
    for cut in [*cuts, len(stream)]:
        sent += f.feed(stream[pos:cut])
        pos = cut
        delivered = pos - f.held
        assert 0 <= delivered <= pos
        assert sent == _filtered(stream[:delivered], [])
    assert sent + f.flush() == _filtered(stream, [])
