"""Secret redaction: nothing key-shaped is ever written (pure functions).

Header values of ``Authorization``, ``api-key``, ``Cookie``, ``Set-Cookie``,
``OpenAI-Organization`` (and a few provider aliases) are replaced by a marker before a
record is built. The API key is kept only as a fingerprint (salted SHA-256 prefix plus the
last 4 characters) so usage can be attributed per key. Bodies are scanned for key-shaped
strings (``sk-...``, ``?key=...``) that apps sometimes echo into prompts or URLs.

Almost no body holds a key, and walking a parsed body string by string costs more than
parsing it, so every entry point first asks a cheaper question: can anything here match at
all? Each prefilter is a necessary condition for a mask (a superset of what the masking
patterns match), run as one C-level regex search that starts with a literal and so skips
ahead at memchr speed: a key needs ``k-`` and 16 key characters, a ``?key=`` needs
``ey=`` (no other character case-folds to ``e`` or ``y``). Only a hit pays for the walk.
"""

from __future__ import annotations

import hashlib
import json
import re

from wiretrace_proxy.callrecord import JSON

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

# Prefilters (see the module docstring): literal-led, so the scan is fast.
_KEYISH = re.compile(r"k-[A-Za-z0-9_\-]{16,}")
_QUERYISH = re.compile(r"=(?<=[eE][yY]=)")
_KEYISH_BYTES = re.compile(rb"k-[A-Za-z0-9_\-]{16,}")
_QUERYISH_BYTES = re.compile(rb"=(?<=[eE][yY]=)")
_ESCAPED_KEY_CHAR = re.compile(rb"\\u00(?:2[dD]|3[0-9dD]|[4-7][0-9a-fA-F])")
r"""A JSON ``\u00XX`` escape that decodes to a character the patterns look at (letters,
digits, ``-``, ``=``, ``_``, ...); ``&``, ``<`` and ``>``, which Go escapes, are not among them."""

_ENCODE = json.JSONEncoder(separators=(",", ":")).encode
"""ASCII-only JSON: the encoder escapes no letter, digit, ``-``, ``_`` or ``=``, so a string
in a value holds a pattern's text exactly when the encoded value does."""


def redact_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    """Headers as a dict with secret values replaced (repeated names joined by ', ').

    The non-secret values are scanned once, joined (no pattern spans a newline), rather
    than one by one: they almost never hold a key.
    """
    pairs = [(name.lower(), value) for name, value in headers]
    suspect = not _is_clean_text("\n".join(v for n, v in pairs if n not in SECRET_HEADERS))
    out: dict[str, str] = {}
    for lower, value in pairs:
        if lower in SECRET_HEADERS:
            safe = REDACTED
        else:
            safe = mask_secrets(value) if suspect else value
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
    if _is_clean_text(text):
        return text
    text = _KEY_PATTERN.sub(_mask_key, text)
    return _QUERY_KEY_PATTERN.sub(lambda m: m.group(1) + REDACTED, text)


def _mask_key(match: re.Match[str]) -> str:
    key = match.group(0)
    return f"{key[:3]}{REDACTED}{key[-4:]}" if len(key) > 24 else REDACTED


def _is_clean_text(text: str) -> bool:
    """True when ``mask_secrets`` would certainly leave ``text`` unchanged."""
    return _KEYISH.search(text) is None and _QUERYISH.search(text) is None


def is_clean_json_bytes(data: bytes) -> bool:
    """True when no string ``json.loads(data)`` yields (and no text decoded from ``data``)
    can hold a key: the bytes hold no key-shaped text, no JSON escape of a character that
    could spell one, and no NUL (so they are not UTF-16/32, which ``json.loads`` accepts)."""
    return (
        _KEYISH_BYTES.search(data) is None
        and _QUERYISH_BYTES.search(data) is None
        and _ESCAPED_KEY_CHAR.search(data) is None
        and b"\x00" not in data
    )


def redact_parsed(value: JSON, data: bytes) -> JSON:
    """``redact_json(value)`` for ``value = json.loads(data)`` (or a part of it).

    Why: scanning the bytes once costs about a microsecond; encoding or walking the parsed
    value costs ten or more, and the bytes are clean for nearly every call.
    """
    return value if is_clean_json_bytes(data) else _redact_walk(value)


def redact_json(value: JSON) -> JSON:
    """Apply ``mask_secrets`` to every string in a JSON value (keys included).

    A container is first encoded (in C) and scanned once: a clean one is returned as it is,
    since the walk would only copy it.
    """
    if isinstance(value, str):
        return mask_secrets(value)
    if not isinstance(value, dict | list):
        return value
    try:
        text = _ENCODE(value)
    except (TypeError, ValueError, RecursionError):
        return _redact_walk(value)
    return value if _is_clean_text(text) else _redact_walk(value)


def _redact_walk(value: JSON) -> JSON:
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, list):
        return [_redact_walk(item) for item in value]
    if isinstance(value, dict):
        return {mask_secrets(k): _redact_walk(v) for k, v in value.items()}
    return value
