"""The web UI at ``/``: the built single-page app when present, else a start page.

The React UI (``web/``) is built into ``static/`` by ``make run`` and shipped in the wheel;
until it is built, ``/`` still tells a user how to point an app at the proxy.
"""

from __future__ import annotations

import html
from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).parent / "static"


def add_ui_routes(router: web.UrlDispatcher) -> None:
    if (STATIC / "index.html").is_file():
        if (STATIC / "assets").is_dir():
            router.add_static("/assets", STATIC / "assets")
    router.add_get("/", index)


async def index(request: web.Request) -> web.StreamResponse:
    built = STATIC / "index.html"
    if built.is_file():
        return web.FileResponse(built)
    base = html.escape(f"{request.scheme}://{request.host}")
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
