"""usage_option: inject include_usage upstream, strip it downstream."""

from __future__ import annotations

import json
import random

from wiretrace_proxy.forward.include_usage import (
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
