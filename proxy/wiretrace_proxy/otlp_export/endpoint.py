"""Where spans go: the traces URL and the headers sent with every export (pure).

The URL rule, one for the flag and the variable alike: a URL whose path ends in
``/v1/traces`` is used as it is (like ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``); any other is
a base URL and ``/v1/traces`` is appended to it (like ``OTEL_EXPORTER_OTLP_ENDPOINT``). So
``http://localhost:4318`` and ``http://localhost:4318/v1/traces`` both reach a collector,
and ``https://cloud.langfuse.com/api/public/otel`` reaches Langfuse's
``.../api/public/otel/v1/traces``.

Headers are spelled as ``OTEL_EXPORTER_OTLP_HEADERS`` spells them: ``key=value`` pairs
(the variable separates them with commas), each percent-decoded, so a value can hold a
comma as ``%2C``.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

__all__ = ["TRACES_PATH", "Headers", "parse_header", "traces_url"]

TRACES_PATH = "/v1/traces"
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
"""An HTTP header name (RFC 9110 token)."""
Headers = tuple[tuple[str, str], ...]


def traces_url(value: str) -> str:
    """The full traces URL for ``value`` (see the module docstring); ``ValueError`` with a
    one-line reason if it is not an http(s) URL with a host."""
    text = value.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL, e.g. http://localhost:4318")
    if parts.query or parts.fragment:
        raise ValueError("must not have a query or a fragment")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not hold credentials: send them with --otlp-export-headers")
    path = parts.path.rstrip("/")
    if not path.endswith(TRACES_PATH):
        path += TRACES_PATH
    return parts._replace(path=path).geturl()


def parse_header(value: str) -> tuple[str, str]:
    """One ``key=value`` pair (percent-decoded); ``ValueError`` with a one-line reason."""
    key, sep, raw = value.partition("=")
    key = unquote(key).strip()
    if not sep or not key:
        raise ValueError("not key=value")
    if not _TOKEN.match(key):
        raise ValueError(f"{key!r} is not a header name")
    text = unquote(raw).strip()
    if any(c in text for c in "\r\n"):
        raise ValueError(f"the value of {key!r} holds a line break")
    return key, text
