"""WebSockets through the intercept proxy: to a host that is no LLM host, a ``wss://``
connection is a raw tunnel, so messages pass both ways untouched, the client verifies the
site's own certificate, and nothing is recorded; to an LLM host (the Realtime API), the
server relays it to the host's ``--route`` with the app's headers, unrecorded."""

from __future__ import annotations

import json
import ssl
import time
import urllib.request
from base64 import b64encode
from pathlib import Path

import aiohttp
from aiohttp import web

from tests.proxy.intercept.conftest import TOKEN, Intercept, intercept_env, wait_listening
from tests.proxy.intercept.tls_servers import tls_site
from tests.proxy.process import ServerProcess, free_port

CREDENTIALS = b64encode(f"wiretrace:{TOKEN}".encode()).decode()


def echo_app() -> web.Application:
    """``/ws`` echoes each text message back, upper-cased (so an echo is the site's)."""

    async def echo(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(protocols=("realtime",))
        await socket.prepare(request)
        seen = {"path": request.path_qs, "authorization": request.headers.get("Authorization")}
        await socket.send_json({**seen, "protocol": socket.ws_protocol})
        async for message in socket:
            if message.type == aiohttp.WSMsgType.TEXT:
                await socket.send_str(message.data.upper())
        return socket

    app = web.Application()
    app.router.add_get("/ws", echo)
    app.router.add_get("/v1/realtime", echo)
    return app


def _count(url: str) -> int:
    with urllib.request.urlopen(f"{url}/api/calls?limit=500", timeout=10) as resp:
        return len(json.load(resp)["calls"])


async def test_a_websocket_to_another_host_is_tunnelled_untouched(
    intercept: Intercept, tmp_path: Path
) -> None:
    before = _count(intercept.server.url)
    with tls_site(echo_app(), ["localhost"], tmp_path) as site:
        only_the_site = ssl.create_default_context(cafile=str(site.ca_file))
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(
                f"wss://localhost:{site.port}/ws",
                proxy=f"http://127.0.0.1:{intercept.port}",
                proxy_headers={"Proxy-Authorization": f"Basic {CREDENTIALS}"},
                ssl=only_the_site,  # mitmproxy's certificate would fail here
            ) as socket,
        ):
            assert (await socket.receive_json(timeout=10))["path"] == "/ws"
            replies = []
            for text in ("hello", "a second message"):
                await socket.send_str(text)
                replies.append(await socket.receive_str(timeout=10))
            await socket.close()
    assert replies == ["HELLO", "A SECOND MESSAGE"]
    time.sleep(0.3)  # a record would have landed within the writer's 50 ms
    assert _count(intercept.server.url) == before


async def test_a_websocket_to_an_llm_host_is_relayed_to_its_route(
    data_home: Path, tmp_path: Path
) -> None:
    with tls_site(echo_app(), ["api.openai.com", "127.0.0.1"], tmp_path) as site:
        port = free_port()
        server = ServerProcess(
            "http://127.0.0.1:9",
            tmp_path / "calls.db",
            "--intercept",
            str(port),
            "--route",
            f"api.openai.com={site.url}",
            "--route-ca",
            str(site.ca_file),
        )
        try:
            wait_listening(port)
            trusted = ssl.create_default_context(cafile=intercept_env(port)["SSL_CERT_FILE"])
            async with (
                aiohttp.ClientSession() as session,
                session.ws_connect(
                    "wss://api.openai.com/v1/realtime?model=gpt-realtime",
                    proxy=f"http://127.0.0.1:{port}",
                    headers={"Authorization": "Bearer sk-realtime-test-1234567890"},
                    protocols=("realtime",),
                    ssl=trusted,
                ) as socket,
            ):
                first = await socket.receive_json(timeout=10)
                await socket.send_str("session.update")
                reply = await socket.receive_str(timeout=10)
                await socket.close()
            assert socket.protocol == "realtime"
        finally:
            server.stop()
    assert first == {
        "path": "/v1/realtime?model=gpt-realtime",
        "authorization": "Bearer sk-realtime-test-1234567890",
        "protocol": "realtime",
    }
    assert reply == "SESSION.UPDATE"
