"""Cross-site request forgery: a state change must come from this server's own pages.

A page on another site can make the browser send a "simple" request without asking first:
a form POST, or ``fetch(url, {method: "POST", mode: "no-cors", body})`` with a
``text/plain`` body, which a JSON parser would happily read as feedback or spans. So:

- a POST, PUT, PATCH or DELETE that names an ``Origin`` (browsers send it with every such
  request) is refused unless that origin is this server's own; ``Sec-Fetch-Site:
  cross-site`` is refused the same way. On the proxy's paths (``/v1``) a page served from
  this machine (``http://localhost:5173``, any loopback origin) may call too, as a web app
  in development does through the upstream's CORS answers; a page of another site may not
  (it would record into the user's traces and spend a keyless local upstream). Apps and
  SDKs send no ``Origin``; intercept mode's hand-overs are not browser requests at all;
- under ``/api/`` such a request with a body must say ``Content-Type: application/json``
  (or ``...+json``), which no page can send to another origin without a CORS preflight,
  and the server answers no preflight (no CORS anywhere). That covers a browser too old to
  send ``Origin``.

The origin is compared with the ``Host`` header by authority (name and port, a default port
left out), not by scheme, so a server behind a TLS-terminating proxy still recognises its
own pages.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler
from yarl import URL

from wiretrace_proxy.access.names import host_name, is_loopback_name
from wiretrace_proxy.access.replies import (
    is_proxy_request,
    is_reverse_proxy_request,
    refuse,
    under,
)

__all__ = ["check_origin", "same_origin"]

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _authority(value: str) -> str:
    text = value.strip().lower()
    for port in (":80", ":443"):
        if text.endswith(port):
            return text.removesuffix(port)
    return text


def same_origin(origin: str, host: str | None) -> bool:
    """Whether an ``Origin`` header names the server the ``Host`` header addresses."""
    if not host or origin.strip() == "null":
        return False
    try:
        url = URL(origin.strip())
    except ValueError:
        return False
    if url.scheme not in ("http", "https") or not url.host or url.path not in ("", "/"):
        return False
    authority = url.raw_authority or ""
    return _authority(authority) == _authority(host)


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


def _allowed(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if is_reverse_proxy_request(request):
        if origin is None or same_origin(origin, request.headers.get("Host")):
            return True
        return _is_loopback_origin(origin)
    if request.headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
        return False
    return origin is None or same_origin(origin, request.headers.get("Host"))


def _is_loopback_origin(origin: str) -> bool:
    try:
        url = URL(origin.strip())
    except ValueError:
        return False
    return url.scheme in ("http", "https") and is_loopback_name(host_name(url.raw_host or ""))


@web.middleware
async def check_origin(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method not in STATE_CHANGING:
        return await handler(request)
    if is_proxy_request(request) and not is_reverse_proxy_request(request):
        return await handler(request)  # intercept mode: its child, guarded by a secret
    if not _allowed(request):
        return refuse(
            request,
            403,
            "cross_origin",
            f"cross-origin {request.method} refused: a page of another site cannot change "
            "anything here",
        )
    needs_json = request.method == "POST" or request.body_exists
    api = under(request.path, "/api") and not is_proxy_request(request)  # not /api/v1/...
    if api and needs_json and not _is_json(request.content_type):
        return refuse(
            request,
            415,
            "unsupported_media_type",
            f"{request.method} {request.path} takes a JSON body: send "
            "Content-Type: application/json",
        )
    return await handler(request)
