"""The web UI at ``/``: the built single-page app when present, else a start page.

The React UI (``web/``) is built into ``static/`` by ``make web`` (and ``make run``) and
shipped in the wheel; until it is built, ``/`` still tells a user how to point an app at the proxy.

Any other GET (``/traces/<id>``, ``/calls/<id>``, ``/compare``, a path the app does not know)
answers ``index.html``, so a shared link or a reload lands on the right page and the router
in the browser takes it from there (it shows its own "not found" page); there is no list of
the app's routes to keep in step here. Paths the server owns are never the app's: under
``/api`` an unknown path answers the API's JSON 404 (or 405 when the path exists for another
method), and the proxy's paths (``/v1``, ``/openai``, ...), ``/assets`` and ``/healthz`` keep
their handlers' answers. So ``add_ui_routes`` is called after every other route is added.

Built assets (``/assets/...``, names carry a content hash) are cached for a year, and sent
gzipped when the build left a ``.gz`` beside them and the browser accepts it (aiohttp's
``FileResponse`` picks the sibling). ``index.html`` is never cached, so a new build is
picked up on the next load. Whether the UI is built is checked per request, so building
while the server runs works.
"""

from __future__ import annotations

import html
from pathlib import Path

from aiohttp import web

from wiretrace_proxy.access.state import ACCESS
from wiretrace_proxy.api.errors import not_found
from wiretrace_proxy.forward import target

STATIC = Path(__file__).parent / "static"
ASSETS = STATIC / "assets"

SERVER_PREFIXES = ("/api", *target.PREFIXES, "/assets", "/healthz")
"""Paths (and everything under them) that are never the single-page app's."""

IMMUTABLE = "public, max-age=31536000, immutable"
SIGN_IN_META = '<meta name="wiretrace-sign-in" content="required">'
"""Added to ``index.html`` when the server asks for sign-in (``--auth-token``)."""


def add_ui_routes(router: web.UrlDispatcher) -> None:
    """The assets and the catch-all: call after every other route is added."""
    router.add_get("/assets/{name:.+}", asset)
    router.add_route("*", "/{path:.*}", index)


def _is_server_path(path: str) -> bool:
    return any(path == p or path.startswith(f"{p}/") for p in SERVER_PREFIXES)


async def _not_the_apps(request: web.Request) -> web.StreamResponse:
    """The answer for a request the catch-all took that is not a page load: 405 when another
    route has the path for other methods (``GET /api/spans``), else 404 (JSON under
    ``/api``)."""
    allowed: set[str] = set()
    mine = request.match_info.route.resource
    for resource in request.app.router.resources():
        if resource is not mine:
            _, methods = await resource.resolve(request)
            allowed |= methods
    if allowed:
        raise web.HTTPMethodNotAllowed(request.method, allowed)
    if request.path == "/api" or request.path.startswith("/api/"):
        return not_found(f"no API endpoint {request.path}")
    raise web.HTTPNotFound()


async def index(request: web.Request) -> web.StreamResponse:
    if request.method not in ("GET", "HEAD") or _is_server_path(request.path):
        return await _not_the_apps(request)
    built = STATIC / "index.html"
    base = html.escape(f"{request.scheme}://{request.host}")
    if built.is_file():
        # Without JavaScript (curl, a text browser) the page still says what to do.
        hint = (
            f"<noscript><p>wiretrace is running. Point any OpenAI client at it:</p>"
            f"<pre>export OPENAI_BASE_URL={base}/v1</pre></noscript>"
        )
        text = built.read_text(encoding="utf-8").replace("</body>", f"{hint}</body>", 1)
        if request.app[ACCESS].tokens:  # the UI then shows "Sign out"
            text = text.replace("</head>", f"{SIGN_IN_META}</head>", 1)
        return web.Response(
            text=text, content_type="text/html", headers={"Cache-Control": "no-cache"}
        )
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>wiretrace</title></head>
<body style="font-family: system-ui; max-width: 44rem; margin: 3rem auto">
<h1>wiretrace is running</h1>
<p>Point any OpenAI client at the proxy:</p>
<pre>export OPENAI_BASE_URL={base}/v1</pre>
<p>Recorded calls: <a href="/api/calls">/api/calls</a> &middot;
health: <a href="/healthz">/healthz</a></p>
<p>The full web UI is not built in this install (run <code>make web</code> in a checkout,
or install a wheel, which carries it).</p>
</body></html>"""
    return web.Response(text=page, content_type="text/html")


async def asset(request: web.Request) -> web.StreamResponse:
    """A built asset; never anything outside ``static/assets``."""
    name = request.match_info["name"]
    root = ASSETS.resolve()
    path = (ASSETS / name).resolve()
    if not path.is_relative_to(root) or not path.is_file() or path.suffix == ".gz":
        raise web.HTTPNotFound(text="no such asset")
    response = web.FileResponse(path)
    response.headers["Cache-Control"] = IMMUTABLE
    return response
