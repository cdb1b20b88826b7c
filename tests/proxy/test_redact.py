"""redact: secrets never stored (design.md: "Secrets never stored")."""

from __future__ import annotations

from wiretrace_proxy.record import JSON
from wiretrace_proxy.redact import (
    REDACTED,
    api_key_from_headers,
    fingerprint_key,
    mask_secrets,
    redact_headers,
    redact_json,
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
