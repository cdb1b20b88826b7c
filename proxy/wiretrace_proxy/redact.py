"""Secret redaction: nothing key-shaped is ever written (pure functions).

Header values of ``Authorization``, ``api-key``, ``Cookie``, ``Set-Cookie``,
``OpenAI-Organization`` (and a few provider aliases) are replaced by a marker before a
record is built. The API key is kept only as a fingerprint (salted SHA-256 prefix plus the
last 4 characters) so usage can be attributed per key. Bodies are scanned for key-shaped
strings (``sk-...``, ``?key=...``) that apps sometimes echo into prompts or URLs.
"""

from __future__ import annotations

import hashlib
import re

from .record import JSON

REDACTED = "[redacted]"

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "cookie",
        "set-cookie",
        "openai-organization",
        "openai-project",
    }
)

_KEY_PATTERN = re.compile(r"\b(?:sk|rk|pk)-[A-Za-z0-9_\-]{16,}")
_QUERY_KEY_PATTERN = re.compile(r"([?&](?:api[_-]?)?key=)[^&#\s\"']+", re.IGNORECASE)


def redact_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    """Headers as a dict with secret values replaced (repeated names joined by ', ')."""
    out: dict[str, str] = {}
    for name, value in headers:
        lower = name.lower()
        safe = REDACTED if lower in SECRET_HEADERS else mask_secrets(value)
        out[lower] = f"{out[lower]}, {safe}" if lower in out else safe
    return out


def api_key_from_headers(headers: list[tuple[str, str]]) -> str | None:
    """The API key a request carries (``Authorization: Bearer``, ``api-key``), if any."""
    for name, value in headers:
        lower = name.lower()
        if lower == "authorization":
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        elif lower in ("api-key", "x-api-key") and value.strip():
            return value.strip()
    return None


def fingerprint_key(key: str, salt: str) -> str:
    """``<12 hex of salted sha256>…<last 4>``: stable per key, useless for recovering it."""
    digest = hashlib.sha256(f"{salt}:{key}".encode()).hexdigest()[:12]
    return f"{digest}…{key[-4:]}"


def mask_secrets(text: str) -> str:
    """Mask key-shaped substrings in free text."""
    if "-" not in text and "key=" not in text.lower():
        return text
    text = _KEY_PATTERN.sub(_mask_key, text)
    return _QUERY_KEY_PATTERN.sub(lambda m: m.group(1) + REDACTED, text)


def _mask_key(match: re.Match[str]) -> str:
    key = match.group(0)
    return f"{key[:3]}{REDACTED}{key[-4:]}" if len(key) > 24 else REDACTED


def redact_json(value: JSON) -> JSON:
    """Apply ``mask_secrets`` to every string in a JSON value (keys included)."""
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, list):
        return [redact_json(item) for item in value]
    if isinstance(value, dict):
        return {mask_secrets(k): redact_json(v) for k, v in value.items()}
    return value
