"""Sign-in for the API and the UI when ``--auth-token`` is set (open as before when not).

A request is signed in when it carries ``Authorization: Bearer <token>`` (scripts, the SDK,
an OTLP exporter) or a valid session cookie (the browser, after ``/signin``). Without
either, ``/api/*`` and ``/otlp/*`` answer 401 in the API's error shape with
``WWW-Authenticate: Bearer``, and a page load is sent to ``/signin?next=<where it was
going>``. Always open: the proxy's paths (``/v1/*``: apps authenticate upstream, and
``--proxy-token`` guards them), ``/healthz`` (a summary only, unless signed in),
``/signin``, ``/signout`` and the built assets (the UI's code, which holds no data).
"""

from __future__ import annotations

from aiohttp import web
from yarl import URL

from wiretrace_proxy.access.replies import is_api_path, is_proxy_request, refuse, under
from wiretrace_proxy.access.sessions import COOKIE_PREFIX
from wiretrace_proxy.access.state import ACCESS

__all__ = ["bearer_token", "cookie_name", "is_signed_in", "sign_in_required"]

OPEN_PATHS = ("/healthz", "/signin", "/signout", "/assets")
SIGNIN_PATH = "/signin"


def cookie_name(request: web.Request) -> str:
    """``wiretrace_session_<port>``: the port the browser addressed."""
    try:
        port = URL(f"http://{request.headers.get('Host', '')}/").explicit_port
    except ValueError:  # the host check refuses such a Host first
        port = None
    if port is None:
        port = 443 if request.secure else 80
    return f"{COOKIE_PREFIX}_{port}"


def bearer_token(request: web.Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if there is one."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def is_signed_in(request: web.Request) -> bool:
    """Whether the request may see everything: no token is configured, or it carries a
    token in force or a valid session."""
    access = request.app[ACCESS]
    if not access.tokens:
        return True
    token = bearer_token(request)
    if token is not None and access.tokens.match(token) is not None:
        return True
    value = request.cookies.get(cookie_name(request))
    session = access.sessions.check(value) if value is not None else None
    return session is not None and not access.revocations.ended(session)


def _is_open(request: web.Request) -> bool:
    path = request.path
    return is_proxy_request(request) or any(under(path, prefix) for prefix in OPEN_PATHS)


def sign_in_required(request: web.Request) -> web.StreamResponse | None:
    """The 401 (API, writes) for a request that needs a sign-in it lacks, or raises the
    redirect to ``/signin`` (pages); None if it may go on."""
    if _is_open(request) or is_signed_in(request):
        return None
    if is_api_path(request.path) or request.method not in ("GET", "HEAD"):
        challenge = 'Bearer realm="wiretrace"'
        if bearer_token(request) is not None:
            challenge += ', error="invalid_token"'
        return refuse(
            request,
            401,
            "unauthorized",
            "sign in required: send Authorization: Bearer <token> (a token the server was "
            "started with: --auth-token), or sign in at /signin",
            {"WWW-Authenticate": challenge},
        )
    target = URL(SIGNIN_PATH).with_query(next=request.rel_url.path_qs)
    raise web.HTTPSeeOther(str(target))
