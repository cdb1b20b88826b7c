"""Response headers that keep the UI and the API out of other sites' pages.

Added to every answer but the proxy's (``/v1`` answers carry the upstream's headers and
nothing else, so an app cannot tell the proxy is there): no framing (``X-Frame-Options``
and CSP ``frame-ancestors``), no content sniffing, no referrer, no cross-origin embedding
of the JSON (``Cross-Origin-Resource-Policy``) and no CORS headers at all. The content
security policy is one the built UI works under: its scripts and styles are files of this
server (no inline script; ``style-src`` allows inline ``style`` attributes, which React sets
and the sign-in page uses); images may be any http(s) or ``data:`` URL because the UI shows
a prompt's images where they are.
"""

from __future__ import annotations

from aiohttp import web

from wiretrace_proxy.access.replies import is_proxy_request

__all__ = ["CONTENT_SECURITY_POLICY", "HEADERS", "add_browser_headers"]

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob: https: http:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


async def add_browser_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: runs for every answer, errors and streams included."""
    if is_proxy_request(request):
        return
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
