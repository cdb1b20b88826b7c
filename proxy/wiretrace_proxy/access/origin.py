"""Cross-site request forgery: a state change must come from this server's own pages.

A page on another site can make the browser send a "simple" request without asking first:
a form POST, or ``fetch(url, {method: "POST", mode: "no-cors", body})`` with a
``text/plain`` body, which a JSON parser would happily read as feedback or spans. So a
POST, PUT, PATCH or DELETE is refused unless the browser says it comes from this server's
own origin. The test is the one Go's ``http.CrossOriginProtection`` makes:

- ``Sec-Fetch-Site`` (every current browser sends it): ``same-origin`` or ``none`` (the
  user's own action) passes, anything else is refused;
- else ``Origin``: it must name this server (compared with ``Host`` by authority, a default
  port left out, not by scheme, so a server behind a TLS-terminating proxy still knows its
  own pages); ``null`` never does. ``Origin`` alone is not enough where it is present:
  a page whose referrer policy is ``no-referrer`` (the UI's) sends ``Origin: null`` even to
  its own server, which ``Sec-Fetch-Site`` then vouches for;
- neither header: not a browser (apps, SDKs, curl), or one too old to send them.

Under ``/api/`` such a request with a body must also say ``Content-Type:
application/json`` (or ``...+json``), which no page can send to another origin without a
CORS preflight, and the server answers no preflight (no CORS anywhere): that covers the
browsers too old for either header.

On the proxy's paths (``/v1``) a page served from this machine (``http://localhost:5173``,
any loopback origin) may call too, as a web app in development does through the upstream's
CORS answers; a page of another site may not (it would record into the user's traces and
spend a keyless local upstream). Intercept mode's hand-overs are not browser requests.
"""

from __future__ import annotations

from aiohttp import web
from yarl import URL

from wiretrace_proxy.access.names import host_name, is_loopback_name
from wiretrace_proxy.access.replies import (
    is_proxy_request,
    is_reverse_proxy_request,
    refuse,
    under,
)

__all__ = ["cross_origin_refusal", "from_own_page", "same_origin"]

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_OWN_ACTION = frozenset({"same-origin", "none"})


def _authority(value: str) -> str:
    text = value.strip().lower()
    for port in (":80", ":443"):
        if text.endswith(port):
            return text.removesuffix(port)
    return text


def _origin_url(origin: str) -> URL | None:
    try:
        url = URL(origin.strip())
    except ValueError:
        return None
    if url.scheme not in ("http", "https") or not url.host or url.path not in ("", "/"):
        return None
    return url


def same_origin(origin: str, host: str | None) -> bool:
    """Whether an ``Origin`` header names the server the ``Host`` header addresses."""
    url = _origin_url(origin)
    if url is None or not host:
        return False
    return _authority(url.raw_authority or "") == _authority(host)


def _is_loopback_origin(origin: str) -> bool:
    url = _origin_url(origin)
    return url is not None and is_loopback_name(host_name(url.raw_host or ""))


def from_own_page(request: web.Request) -> bool:
    """Whether a state-changing request may be a page's of this server, or no page's."""
    origin = request.headers.get("Origin")
    fetch_site = request.headers.get("Sec-Fetch-Site", "").strip().lower()
    if fetch_site in _OWN_ACTION:
        return True
    if origin is not None and same_origin(origin, request.headers.get("Host")):
        return True
    if origin is not None and is_reverse_proxy_request(request) and _is_loopback_origin(origin):
        return True
    return not fetch_site and origin is None


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


def cross_origin_refusal(request: web.Request) -> web.StreamResponse | None:
    """The 403 for a state change from another site's page, or the 415 for an API write
    that is not JSON; None if it may go on."""
    if request.method not in STATE_CHANGING:
        return None
    if is_proxy_request(request) and not is_reverse_proxy_request(request):
        return None  # intercept mode: its child, guarded by a secret
    if not from_own_page(request):
        return refuse(
            request,
            403,
            "cross_origin",
            f"cross-origin {request.method} refused: a page of another site cannot change "
            "anything here",
        )
    needs_json = request.method == "POST" or request.body_exists
    api = under(request.path, "/api") and not is_reverse_proxy_request(request)  # /api/v1/...
    if api and needs_json and not _is_json(request.content_type):
        return refuse(
            request,
            415,
            "unsupported_media_type",
            f"{request.method} {request.path} takes a JSON body: send "
            "Content-Type: application/json",
        )
    return None
