"""WebSocket upgrades on an intercepted LLM host (the Realtime API's ``wss://``): relayed.

mitmproxy decrypts a connection before any request says it will be a WebSocket, so an
upgrade to an LLM host reaches the ``/intercept/`` route like any call. Here it is opened
upstream (the same host or its ``--route``, certificates verified by the route's session)
with the app's headers less hop-by-hop, ``Sec-WebSocket-*`` and wiretrace's own, and the
messages are relayed both ways as they come until either side closes. Nothing is recorded:
a session of events is not a call the recorder knows. An upstream that refuses the
handshake gives the app its status.
"""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web

from wiretrace_proxy.forward.headers import split_request_headers

__all__ = ["is_websocket_upgrade", "relay"]

_HANDSHAKE_PREFIX = "sec-websocket-"
"""The handshake's own headers: aiohttp's client makes its own key, version, extensions."""


def is_websocket_upgrade(request: web.Request) -> bool:
    return request.method == "GET" and request.headers.get("Upgrade", "").lower() == "websocket"


async def relay(
    request: web.Request, session: aiohttp.ClientSession, url: str
) -> web.StreamResponse:
    """Open ``url`` as a WebSocket with the app's headers, then relay until one side closes."""
    forwarded, _ = split_request_headers(request.headers.items())
    headers = [(k, v) for k, v in forwarded if not k.lower().startswith(_HANDSHAKE_PREFIX)]
    offered = request.headers.get("Sec-WebSocket-Protocol", "")
    protocols = tuple(p.strip() for p in offered.split(",") if p.strip())
    try:
        upstream = await session.ws_connect(
            url, headers=headers, protocols=protocols, max_msg_size=0, autoclose=False
        )
    except aiohttp.WSServerHandshakeError as exc:
        return web.Response(status=exc.status, text=f"wiretrace: upstream refused: {exc.message}")
    except (aiohttp.ClientError, OSError) as exc:
        return web.Response(status=502, text=f"wiretrace: upstream unreachable: {exc}")
    async with upstream:
        chosen = (upstream.protocol,) if upstream.protocol else ()
        client = web.WebSocketResponse(protocols=chosen, max_msg_size=0, autoclose=False)
        await client.prepare(request)
        await asyncio.gather(_pump(client, upstream), _pump(upstream, client))
        return client


async def _pump(
    source: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
    sink: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
) -> None:
    """Send each of ``source``'s messages to ``sink``; at its close, close ``sink`` alike."""
    async for message in source:  # ends at a close frame (autoclose off: answered below)
        if message.type == aiohttp.WSMsgType.TEXT:
            await sink.send_str(message.data)
        elif message.type == aiohttp.WSMsgType.BINARY:
            await sink.send_bytes(message.data)
    await sink.close(code=source.close_code or aiohttp.WSCloseCode.OK)
    await source.close()
