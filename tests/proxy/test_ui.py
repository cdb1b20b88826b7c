"""Which paths answer the single-page app: every GET the server does not own, with no list
of the app's routes kept on the server; ``/api``, ``/v1``, ``/assets`` and ``/healthz`` keep
their own answers (JSON errors under ``/api``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from wiretrace_proxy import ui
from wiretrace_proxy.app import create_app
from wiretrace_proxy.settings import Settings

from tests.fakes.upstream import create_fake_upstream
from tests.harness import start_site

Client = TestClient[web.Request, web.Application]

INDEX = "<!doctype html><html><head></head><body><div id=root></div></body></html>"


@pytest.fixture
async def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Client]:
    static = tmp_path / "static"
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text(INDEX, encoding="utf-8")
    (static / "assets" / "app-1234.js").write_text("console.log(1)", encoding="utf-8")
    monkeypatch.setattr(ui, "STATIC", static)
    monkeypatch.setattr(ui, "ASSETS", static / "assets")
    upstream, upstream_url = await start_site(create_fake_upstream())
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'w.db'}", upstream=upstream_url)
    async with TestClient(TestServer(create_app(settings))) as c:
        yield c
    await upstream.cleanup()


@pytest.mark.parametrize(
    "path",
    ["/", "/traces/0123abcd", "/calls/x/y", "/compare?ids=a,b", "/dashboard", "/anything", "/v1x"],
)
async def test_any_app_path_answers_index_html(client: Client, path: str) -> None:
    resp = await client.get(path)
    assert resp.status == 200
    assert resp.content_type == "text/html"
    assert resp.headers["Cache-Control"] == "no-cache"
    assert "<div id=root>" in await resp.text()


@pytest.mark.parametrize("path", ["/api/nope", "/api", "/api/calls/x/nope"])
async def test_unknown_api_paths_answer_a_json_404(client: Client, path: str) -> None:
    resp = await client.get(path)
    assert resp.status == 404
    body = await resp.json()
    assert body["error"]["param"] is None
    assert path in body["error"]["message"]


async def test_api_paths_of_another_method_answer_405(client: Client) -> None:
    resp = await client.get("/api/spans")
    assert resp.status == 405
    assert resp.headers["Allow"] == "POST"
    resp = await client.post("/api/calls", json={})
    assert resp.status == 405


async def test_server_paths_keep_their_handlers(client: Client) -> None:
    health = await client.get("/healthz")
    assert health.status == 200
    assert (await health.json())["status"] == "ok"
    assert (await client.get("/healthz/x")).status == 404
    asset = await client.get("/assets/app-1234.js")
    assert asset.status == 200
    assert "immutable" in asset.headers["Cache-Control"]
    assert (await client.get("/assets/missing.js")).status == 404
    proxied = await client.get("/v1/models")
    assert proxied.content_type == "application/json"
    assert "<div id=root>" not in await proxied.text()


async def test_other_methods_on_app_paths_are_not_found(client: Client) -> None:
    resp = await client.post("/traces/x", data=b"")
    assert resp.status == 404
    assert "<div id=root>" not in await resp.text()


def test_the_catch_all_is_registered_last() -> None:
    app = create_app(Settings())
    routes = list(app.router.routes())
    assert routes[-1].resource is not None
    assert routes[-1].resource.canonical == "/{path}"
    assert routes[-1].handler is ui.index
