"""Which request targets the proxy forwards, and the upstream URL it sends them to.

The proxy forwards the paths of OpenAI-compatible APIs (``PREFIXES``: OpenAI's ``/v1/...``,
Azure OpenAI's and Groq's ``/openai/...``, OpenRouter's ``/api/v1/...``, Gemini's
``/v1beta/openai/...``; ``endpoints`` says what each is). Only an origin-form target is
forwarded, and it reaches the upstream byte for byte: path and query (``api-version=``
included) are appended to the upstream's base URL as already-encoded text, so nothing is
normalised, decoded or re-encoded on the way (``%2f`` stays ``%2f``, ``\\`` stays ``\\``).
That also means a dot segment would be resolved by the upstream, outside the API's path, so
a path with one (``.``, ``..``, or percent-encoded: ``%2e``, ``%2E`` in any mix, between
``/``, ``\\``, ``%2f`` or ``%5c``) is refused, as are absolute-form (``GET http://host/v1/x``)
and authority-form (``CONNECT host:443``) targets.
"""

from __future__ import annotations

import re

from yarl import URL

PREFIXES = ("/v1", "/openai", "/api/v1", "/v1beta/openai")
"""Path prefixes the proxy forwards (everything under each); ``/api/v1`` is the one part of
``/api`` that is not the JSON API."""
ROUTES = tuple(f"{prefix}/{{tail:.*}}" for prefix in PREFIXES)
"""The app's routes for ``PREFIXES``, all to the forward handler."""

_SEPARATORS = re.compile(r"/|\\|%2f|%5c", re.IGNORECASE)
_ENCODED_DOT = re.compile(r"%2e", re.IGNORECASE)


def refusal(method: str, raw_target: str) -> str | None:
    """Why ``raw_target`` (the request line's target, as sent) is not forwarded, or None."""
    if method == "CONNECT":
        return (
            f"wiretrace: CONNECT {raw_target!r} refused: the proxy forwards API paths "
            "(/v1/...) only"
        )
    if not raw_target.startswith("/"):
        return (
            f"wiretrace: request target {raw_target!r} refused: send a path (/v1/...), "
            "not an absolute URL"
        )
    path = raw_target.partition("?")[0]
    if "." in path or "%" in path:
        for segment in _SEPARATORS.split(path):
            if _ENCODED_DOT.sub(".", segment) in (".", ".."):
                return (
                    f"wiretrace: path {path!r} refused: it has a dot segment "
                    f"({segment!r}), which would leave the API's path"
                )
    return None


def path_of(raw_target: str) -> str:
    """The path part of a target as sent (for the record of a refused one)."""
    return raw_target.partition("?")[0]


def upstream_url(base_url: str, raw_target: str) -> URL:
    """``base_url`` followed by the target exactly as the app sent it."""
    return URL(base_url + raw_target, encoded=True)
