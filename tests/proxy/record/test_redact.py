"""redact: secrets are never stored (``docs/architecture.md``, "The contract": secrets)."""

from __future__ import annotations

import json

import pytest
from wiretrace_proxy.callrecord import JSON
from wiretrace_proxy.record.redact import (
    _KEY_PATTERN,
    _QUERY_KEY_PATTERN,
    REDACTED,
    _mask_key,
    api_key_from_headers,
    fingerprint_key,
    is_clean_json_bytes,
    mask_secrets,
    redact_headers,
    redact_json,
    redact_parsed,
)

KEY = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"


def test_secret_headers_are_replaced() -> None:
    out = redact_headers(
        [
            ("Authorization", f"Bearer {KEY}"),
            ("api-key", "azure-secret-value"),
            ("Cookie", "session=abc"),
            ("OpenAI-Organization", "org-123"),
            ("X-Custom", f"carries {KEY}"),
            ("Accept", "application/json"),
        ]
    )
    assert out["authorization"] == REDACTED
    assert out["api-key"] == REDACTED
    assert out["cookie"] == REDACTED
    assert out["openai-organization"] == REDACTED
    assert KEY not in out["x-custom"]
    assert out["accept"] == "application/json"


def test_fingerprint_is_stable_salted_and_shows_last_four() -> None:
    a = fingerprint_key(KEY, "salt1")
    assert a == fingerprint_key(KEY, "salt1")
    assert a != fingerprint_key(KEY, "salt2")
    assert a.endswith("6789") and KEY[:-4] not in a


def test_api_key_from_bearer_or_api_key_header() -> None:
    assert api_key_from_headers([("authorization", f"Bearer {KEY}")]) == KEY
    assert api_key_from_headers([("api-key", "azure")]) == "azure"
    assert api_key_from_headers([("authorization", "Basic Zm9v")]) is None


def test_key_shaped_strings_masked_in_text_and_json() -> None:
    text = f"my key is {KEY} and url https://x.test/v1?key=AIzaSECRET&q=1"
    masked = mask_secrets(text)
    assert KEY not in masked and "AIzaSECRET" not in masked and "&q=1" in masked
    doc: JSON = {"messages": [{"content": text}], KEY: 1, "n": 2}
    clean = redact_json(doc)
    assert KEY not in repr(clean)
    assert isinstance(clean, dict) and clean["n"] == 2


def test_ordinary_text_is_untouched() -> None:
    text = "a task-list with well-known risk-free words, desk-top 12345678901234567890"
    assert mask_secrets(text) == text


# The fast paths (a scan of bytes or of the encoded value before any walk) must never let
# through what the walk would mask: each case below holds a secret in a form a naive scan
# of the raw bytes would miss, or nothing secret in a form that looks close.
TRICKY_TEXTS = [
    KEY,
    f"prefix{KEY}",  # no word boundary: the walk leaves it, the scan must not care
    f"line\n{KEY}\tend",
    "https://x.test/v1?api_key=AIzaSECRET&q=1",
    "https://x.test/v1?KEY=AIzaSECRET",
    "https://x.test/v1?\u212aey=AIzaSECRET",  # KELVIN SIGN matches k case-insensitively
    "rk-" + "A" * 30,
    "pk-live_" + "b" * 20,
    "sk-short",
    "a task-list with well-known risk-free words, desk-top",
    "key = value, monkey=banana",
    "naïve — 你好 🙂 ✓",
    "",
]


def _reference(value: JSON) -> JSON:
    """The masking with no prefilter at all: both patterns on every string, keys included."""
    if isinstance(value, str):
        value = _KEY_PATTERN.sub(_mask_key, value)
        return _QUERY_KEY_PATTERN.sub(lambda m: m.group(1) + REDACTED, value)
    if isinstance(value, list):
        return [_reference(item) for item in value]
    if isinstance(value, dict):
        return {str(_reference(k)): _reference(v) for k, v in value.items()}
    return value


def _encodings(value: JSON) -> list[bytes]:
    """The same value as JSON bytes written by different clients."""
    every_char_escaped = "".join(f"\\u{ord(c):04x}" if ord(c) < 0x10000 else c for c in KEY)
    return [
        json.dumps(value).encode(),
        json.dumps(value, ensure_ascii=False).encode(),
        json.dumps(value, indent=2).encode("utf-16"),
        json.dumps(value, ensure_ascii=False).encode("utf-32"),
        json.dumps(value).replace("-", "\\u002d").replace("=", "\\u003D").encode(),
        json.dumps(value).replace("k", "\\u006b").encode(),
        json.dumps({"escaped": value, "key": every_char_escaped}).encode(),
    ]


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_fast_paths_mask_exactly_what_the_walk_masks(text: str) -> None:
    doc: JSON = {"messages": [{"content": text, text: [text, 1, None]}], "n": 2.5}
    for raw in _encodings(doc):
        value = json.loads(raw)
        want = _reference(value)
        assert redact_parsed(value, raw) == want, raw
        assert redact_json(value) == want
    assert mask_secrets(text) == _reference(text)
    headers = [("X-Custom", text), ("Authorization", f"Bearer {KEY}"), ("X-Custom", "b")]
    assert redact_headers(headers)["x-custom"] == f"{_reference(text)}, b"


def test_clean_values_come_back_as_they_are() -> None:
    doc: JSON = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    raw = json.dumps(doc).encode()
    assert redact_parsed(doc, raw) is doc
    assert redact_json(doc) is doc
    assert not is_clean_json_bytes(b'{"a": "sk\\u002dproj-AbCdEfGhIjKlMnOpQrSt"}')
    assert is_clean_json_bytes(b'{"html": "\\u003cb\\u003e \\u0026 \\u00e9"}')
