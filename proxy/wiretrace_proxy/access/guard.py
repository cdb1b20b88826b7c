"""The access checks as one middleware: each check says why a request is refused, or None.

Why one: each aiohttp middleware is another coroutine around every request, an app's
proxied calls included, so four layers cost the event loop four awaits and frames per call
for what are a few header reads. Here the checks are plain functions run in order, and the
first refusal is the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from wiretrace_proxy.access.auth import cookie_name, sign_in_required
from wiretrace_proxy.access.hosts import misdirected
from wiretrace_proxy.access.origin import cross_origin_refusal
from wiretrace_proxy.access.proxy_token import missing_proxy_token
from wiretrace_proxy.access.replies import is_proxy_request
from wiretrace_proxy.access.state import ACCESS

__all__ = ["MAIN_CHECKS", "SIDE_CHECKS", "Check", "guard"]

Check = Callable[[web.Request], web.StreamResponse | None]

MAIN_CHECKS: tuple[Check, ...] = (
    misdirected,
    cross_origin_refusal,
    sign_in_required,
    missing_proxy_token,
)
"""In order: the ``Host`` check (DNS rebinding), cross-site writes (CSRF), sign-in, and the
proxy token."""
SIDE_CHECKS: tuple[Check, ...] = (misdirected, cross_origin_refusal, sign_in_required)
"""For an app on a port of its own that takes data for the main one (no proxy there)."""


def guard(checks: Sequence[Check]) -> Middleware:
    """The middleware that answers a request with the first refusal of ``checks``."""
    ordered = tuple(checks)

    @web.middleware
    async def check_access(request: web.Request, handler: Handler) -> web.StreamResponse:
        access = request.app[ACCESS]
        if access.tokens and access.revocations.due() and _has_session(request):
            await access.revocations.refresh()
        for check in ordered:
            refusal = check(request)
            if refusal is not None:
                return refusal
        return await handler(request)

    return check_access


def _has_session(request: web.Request) -> bool:
    """A request that is checked against the ended sessions: one with a session cookie
    that is not the proxy's (its calls never wait on the database)."""
    return not is_proxy_request(request) and cookie_name(request) in request.cookies
