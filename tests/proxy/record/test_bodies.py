from __future__ import annotations

import gzip
import zlib

from wiretrace_proxy.callrecord import JSON
from wiretrace_proxy.record.bodies import decode_content, parse_body_verbatim, summarise_embeddings


def parse_body(data: bytes, content_type: str, *, size: int, truncated: bool) -> JSON:
    return parse_body_verbatim(data, content_type, size=size, truncated=truncated)[0]


def test_json_parsed_and_bad_json_kept_raw_with_reason() -> None:
    assert parse_body(b'{"a": 1}', "application/json", size=8, truncated=False) == {"a": 1}
    bad = parse_body(b'{"a": ', "application/json", size=6, truncated=False)
    assert isinstance(bad, dict) and bad["raw"] == '{"a": ' and "parse_error" in bad


def test_binary_and_truncated_bodies_are_noted_not_dumped() -> None:
    audio = parse_body(b"\xff\xfb\x90\x00" * 100, "audio/mpeg", size=400, truncated=False)
    assert audio == {"content_type": "audio/mpeg", "bytes": 400, "raw": None, "binary": True}
    cut = parse_body(b'{"a": "bbbb', "application/json", size=10**8, truncated=True)
    assert isinstance(cut, dict) and cut["truncated"] is True and cut["bytes"] == 10**8


def test_multipart_summary() -> None:
    body = (
        b'--B\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n'
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="a b.wav"\r\n'
        b"Content-Type: audio/wav\r\n\r\nRIFF....\r\n--B--\r\n"
    )
    out = parse_body(body, "multipart/form-data; boundary=B", size=len(body), truncated=False)
    assert isinstance(out, dict)
    assert out["fields"] == {"model": "whisper-1"}
    assert out["files"] == [{"field": "file", "filename": "a b.wav", "bytes_seen": 8}]


def test_decode_content() -> None:
    assert decode_content(gzip.compress(b"hello"), "gzip") == b"hello"
    assert decode_content(zlib.compress(b"hello"), "deflate") == b"hello"
    assert decode_content(b"hello", "identity") == b"hello"
    assert decode_content(b"not gzip", "gzip") is None
    assert decode_content(b"x", "zstd-unknown") is None


def test_embeddings_summary() -> None:
    out = summarise_embeddings(
        {
            "object": "list",
            "data": [{"embedding": [0.1] * 4}, {"embedding": [0.2] * 4}],
            "model": "m",
        }
    )
    assert out == {
        "object": "list",
        "model": "m",
        "embeddings": {"count": 2, "dimensions": 4, "stored": False},
    }


def test_non_finite_numbers_are_spelled_and_the_body_is_not_verbatim() -> None:
    data = b'{"logprob": -Infinity, "top": [NaN, Infinity], "text": "NaN stays text"}'
    value, verbatim = parse_body_verbatim(data, "application/json", size=len(data), truncated=False)
    assert value == {"logprob": "-Infinity", "top": ["NaN", "Infinity"], "text": "NaN stays text"}
    assert verbatim is False
    plain = b'{"text": "Infinity and NaN as words"}'
    assert parse_body_verbatim(plain, "application/json", size=len(plain), truncated=False)[1]


def test_a_body_nested_too_deep_is_kept_raw_with_the_reason() -> None:
    data = b"[" * 5000 + b"]" * 5000
    value, verbatim = parse_body_verbatim(data, "application/json", size=len(data), truncated=False)
    assert isinstance(value, dict) and verbatim is False
    assert str(value["parse_error"]).startswith("nested too deep")
    assert value["raw"] == data.decode()
