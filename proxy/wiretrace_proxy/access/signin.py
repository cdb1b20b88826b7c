"""``/signin`` and ``/signout``: the browser's way in and out when ``--auth-token`` is set.

The page is rendered here (small, no script, styled like the UI), so it works before the UI
is built and under the strictest content security policy. A correct token sets an HttpOnly
cookie holding a signed session value (``sessions``), never the token, and sends the
browser on to ``next``: only a path of this server, so the form cannot be turned into a
redirect to another site. A wrong token is answered 401 after ``FAILED_DELAY_S``.

Why ``SameSite=Lax`` and not ``Strict``: with ``Strict`` a link to a trace pasted in a chat
or a ticket opens on the sign-in page even for a signed-in user (the browser leaves the
cookie off a navigation that starts on another site). ``Lax`` sends it on such a top-level
GET, and GETs change nothing here; every state change is a POST that ``Lax`` keeps the
cookie off when it comes from another site, and that ``origin.cross_origin_refusal`` refuses on
``Origin`` and content type anyway.
"""

from __future__ import annotations

import asyncio
import html
import urllib.parse

from aiohttp import web

from wiretrace_proxy.access.auth import cookie_name, is_signed_in
from wiretrace_proxy.access.replies import under
from wiretrace_proxy.access.sessions import SESSION_MAX_AGE_S
from wiretrace_proxy.access.state import ACCESS
from wiretrace_proxy.api.jsonio import BodyTooLarge, read_body

__all__ = ["add_routes", "safe_next"]

FAILED_DELAY_S = 0.5
"""A wrong token waits this long for its answer: guessing through the form is slow."""
FORM_LIMIT = 8 * 1024
"""Bytes a sign-in form may have (the app takes huge bodies for the proxy's sake)."""


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/signin", show)
    router.add_post("/signin", sign_in)
    router.add_post("/signout", sign_out)


def safe_next(value: str | None) -> str:
    """``value`` if it is a path on this server (``/traces/abc?x=1``), else ``/``.

    Refused: anything with a scheme or a host (``https://evil``, ``//evil``), a backslash
    (``/\\evil``, which browsers read as ``//evil``), control characters (browsers drop tabs
    and newlines, turning ``/\\t/evil`` into ``//evil``), and the sign-in paths themselves.
    """
    if not value or not value.startswith("/") or value.startswith("//"):
        return "/"
    if "\\" in value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "/"
    path = value.split("?", 1)[0].split("#", 1)[0]
    if under(path, "/signin") or under(path, "/signout"):
        return "/"
    return value


STYLE = """
:root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  font-size: 14px; color: #1d2330; background: #f6f7f9; }
body { margin: 0; }
header { height: 48px; display: flex; align-items: center; padding: 0 20px;
  background: #1d2330; color: #fff; font-weight: 700; font-size: 16px; letter-spacing: .02em; }
main { max-width: 380px; margin: 72px auto; background: #fff; border: 1px solid #e2e5ea;
  border-radius: 8px; padding: 24px 28px; }
h1 { font-size: 20px; margin: 0 0 8px; }
p { color: #6b7383; margin: 0 0 16px; line-height: 1.45; }
label { display: block; font-weight: 600; margin-bottom: 6px; }
input[type=password] { width: 100%; box-sizing: border-box; font: inherit; padding: 7px 10px;
  border: 1px solid #cfd4dc; border-radius: 6px; }
input[type=password]:focus { outline: 2px solid #e8edff; border-color: #3b5bdb; }
button { font: inherit; margin-top: 16px; padding: 6px 14px; border-radius: 6px;
  border: 1px solid #3b5bdb; background: #3b5bdb; color: #fff; cursor: pointer; }
.error { color: #c92a2a; background: #fdecec; border-radius: 6px; padding: 8px 10px; }
a { color: #3b5bdb; text-decoration: none; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
"""


def _page(body: str, status: int = 200) -> web.Response:
    text = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Sign in · wiretrace</title><style>{STYLE}</style></head>"
        f'<body><header>wiretrace</header><main data-testid="signin">{body}</main></body></html>'
    )
    return web.Response(
        text=text, status=status, content_type="text/html", headers={"Cache-Control": "no-store"}
    )


def _form(next_path: str, error: str | None = None) -> str:
    problem = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return (
        "<h1>Sign in</h1>"
        "<p>This wiretrace server asks for an access token (the one it was started with: "
        "<code>--auth-token</code> or <code>WIRETRACE_AUTH_TOKEN</code>).</p>"
        f'{problem}<form method="post" action="/signin">'
        f'<input type="hidden" name="next" value="{html.escape(next_path)}">'
        '<label for="token">Access token</label>'
        '<input id="token" name="token" type="password" autocomplete="current-password" '
        "required autofocus>"
        "<button type=submit>Sign in</button></form>"
    )


def _signed_in(next_path: str) -> str:
    return (
        "<h1>Signed in</h1>"
        f'<p>You are signed in. <a href="{html.escape(next_path)}">Continue</a></p>'
        '<form method="post" action="/signout"><button type=submit>Sign out</button></form>'
    )


async def show(request: web.Request) -> web.StreamResponse:
    next_path = safe_next(request.query.get("next"))
    if not request.app[ACCESS].tokens:
        raise web.HTTPSeeOther(next_path)  # nothing to sign in to
    if is_signed_in(request):
        return _page(_signed_in(next_path))
    return _page(_form(next_path))


async def sign_in(request: web.Request) -> web.StreamResponse:
    access = request.app[ACCESS]
    try:
        raw = await read_body(request, FORM_LIMIT)
    except BodyTooLarge:
        return _page(_form("/", "That form is too large."), status=413)
    form = urllib.parse.parse_qs(raw.decode("utf-8", "replace"), max_num_fields=10)
    next_path = safe_next((form.get("next") or ["/"])[0])
    if not access.tokens:
        raise web.HTTPSeeOther(next_path)
    token = access.tokens.match((form.get("token") or [""])[0].strip())
    if token is None:
        await asyncio.sleep(FAILED_DELAY_S)
        return _page(_form(next_path, "That token is not one this server accepts."), status=401)
    response = web.HTTPSeeOther(next_path)
    response.set_cookie(
        cookie_name(request),
        access.sessions.issue(token),
        max_age=SESSION_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=request.secure,
    )
    raise response


async def sign_out(request: web.Request) -> web.StreamResponse:
    """Delete the cookie, and end its session on every replica: a copy of it is refused."""
    access = request.app[ACCESS]
    value = request.cookies.get(cookie_name(request))
    session = access.sessions.check(value) if value is not None and access.tokens else None
    if session is not None:
        await access.revocations.end(session)
    response = web.HTTPSeeOther("/signin" if access.tokens else "/")
    response.del_cookie(cookie_name(request), path="/")
    raise response
