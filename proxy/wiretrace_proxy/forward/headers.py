"""Request/response header handling on the request path (pure functions).

``split_request_headers`` separates what goes upstream from wiretrace's own metadata:
hop-by-hop headers (RFC 9110 §7.6.1) and ``Wiretrace-*`` / ``Helicone-*`` headers are read
here and never forwarded, nor is wiretrace's own sign-in cookie; ``traceparent`` and
``tracestate`` are read *and* forwarded unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

from wiretrace_proxy.forward.capture import RequestMeta

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
"""Headers that describe one connection, not the message: never passed on."""

CALL_ID_HEADER = "Wiretrace-Call-Id"
SESSION_COOKIE_PREFIX = "wiretrace_session"
"""wiretrace's sign-in cookie (``wiretrace_session_<port>``): kept from the upstream."""

_META_FIELDS = {
    "wiretrace-project": "project",
    "wiretrace-session-id": "session_id",
    "wiretrace-user-id": "user_id",
    "wiretrace-name": "name",
    "helicone-session-id": "session_id",
    "helicone-user-id": "user_id",
    "helicone-session-name": "name",
    "helicone-session-path": "session_path",
    "wiretrace-session-path": "session_path",
    "wiretrace-eval-run": "eval_run",
    "wiretrace-eval-row": "eval_row",
}
_PROPERTY_PREFIXES = ("wiretrace-property-", "helicone-property-")
_DROPPED_PREFIXES = ("wiretrace-", "helicone-")


def _connection_tokens(headers: Iterable[tuple[str, str]]) -> set[str]:
    """Header names listed in ``Connection`` are hop-by-hop for this message too."""
    tokens: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            tokens.update(t.strip().lower() for t in value.split(",") if t.strip())
    return tokens


def split_request_headers(
    headers: Iterable[tuple[str, str]],
) -> tuple[list[tuple[str, str]], RequestMeta]:
    """Return (headers to forward upstream, wiretrace metadata).

    ``Host`` is dropped too: the upstream session sets its own.
    """
    items = list(headers)
    extra_hop = _connection_tokens(items)
    forward: list[tuple[str, str]] = []
    meta = RequestMeta()
    for name, value in items:
        lower = name.lower()
        if lower in HOP_BY_HOP or lower in extra_hop or lower == "host":
            continue
        if lower.startswith(_DROPPED_PREFIXES):
            _read_meta(meta, lower, value)
            continue
        if lower == "traceparent":
            meta.traceparent = value
        elif lower == "tracestate":
            meta.tracestate = value
        elif lower == "cookie" and SESSION_COOKIE_PREFIX in value:
            value = _without_session_cookies(value)
            if not value:
                continue
        forward.append((name, value))
    return forward, meta


def _without_session_cookies(value: str) -> str:
    """A ``Cookie`` value without wiretrace's own sign-in cookie (``access.sessions``): a
    browser sends it with any request to this server, and it is not the upstream's."""
    pairs = [pair for pair in value.split(";") if pair.strip()]
    kept = [p for p in pairs if not p.strip().startswith(SESSION_COOKIE_PREFIX)]
    return ";".join(kept).strip() if len(kept) < len(pairs) else value


def _read_meta(meta: RequestMeta, lower: str, value: str) -> None:
    field_name = _META_FIELDS.get(lower)
    if field_name is not None:
        # wiretrace's own header wins over a Helicone alias given in the same request.
        if getattr(meta, field_name) is None or lower.startswith("wiretrace-"):
            setattr(meta, field_name, value)
        return
    for prefix in _PROPERTY_PREFIXES:
        if lower.startswith(prefix) and len(lower) > len(prefix):
            meta.properties.setdefault(lower[len(prefix) :], value)
            return


def filter_response_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Upstream response headers minus hop-by-hop ones (Content-Length is kept)."""
    items = list(headers)
    extra_hop = _connection_tokens(items)
    return [
        (name, value)
        for name, value in items
        if name.lower() not in HOP_BY_HOP and name.lower() not in extra_hop
    ]
