"""The web UI at ``/``: the built single-page app when present, else a start page.

The React UI (``web/``) is built into ``static/`` by ``make run`` and shipped in the wheel;
until it is built, ``/`` still tells a user how to point an app at the proxy.

Client-side routes (``/traces/<id>``, ``/calls/<id>``, ``/compare``, ...) all answer with
``index.html`` so a shared link or a reload lands on the right page; the router in the
browser takes it from there. Built assets (``/assets/...``, names carry a content hash) are
cached for a year, and sent gzipped when the build left a ``.gz`` beside them and the
browser accepts it (aiohttp's ``FileResponse`` picks the sibling). ``index.html`` is never
cached, so a new build is picked up on the next load. Whether the UI is built is checked
per request, so building while the server runs works.
"""

from __future__ import annotations

import html
from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).parent / "static"
ASSETS = STATIC / "assets"

CLIENT_ROUTES = (
    "/",
    "/traces/{tail:.+}",
    "/calls/{tail:.+}",
    "/compare",
    "/ops",
    "/ops/{tail:.+}",
    "/models",
    "/models/{tail:.+}",
    "/dashboard",
)
"""Paths the single-page app routes itself (``web/src/App.tsx``)."""

IMMUTABLE = "public, max-age=31536000, immutable"


def add_ui_routes(router: web.UrlDispatcher) -> None:
    for path in CLIENT_ROUTES:
        router.add_get(path, index)
    router.add_get("/assets/{name:.+}", asset)


async def index(request: web.Request) -> web.StreamResponse:
    built = STATIC / "index.html"
    base = html.escape(f"{request.scheme}://{request.host}")
    if built.is_file():
        # Without JavaScript (curl, a text browser) the page still says what to do.
        hint = (
            f"<noscript><p>wiretrace is running. Point any OpenAI client at it:</p>"
            f"<pre>export OPENAI_BASE_URL={base}/v1</pre></noscript>"
        )
        text = built.read_text(encoding="utf-8").replace("</body>", f"{hint}</body>", 1)
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
<p>The full web UI is not built in this install (run <code>make run</code> from a checkout).</p>
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
