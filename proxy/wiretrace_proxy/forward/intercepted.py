"""The ``/intercept/<host><path>`` route: decrypted LLM requests from the intercept proxy.

The mitmdump child (``intercept/addon.py``) sends each request it decrypted here with the
server's secret; this handler checks the secret and that the host is an LLM host (the
same ``HostTable`` that chose what to decrypt), then hands the call to the reverse
proxy's own ``forward``, upstream ``https://<host>`` (or its ``--route``), so one handler,
one capture and one recorder make every record; a WebSocket upgrade is relayed, not
recorded (``websocket_relay``). Anything else is refused with 403 and not
forwarded: the route is no relay to arbitrary hosts.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from wiretrace_proxy.appkeys import Upstream
from wiretrace_proxy.forward import websocket_relay
from wiretrace_proxy.forward.handler import forward
from wiretrace_proxy.intercept.intercept_protocol import ROUTE, SECRET_HEADER
from wiretrace_proxy.providers import HostTable

__all__ = ["INTERCEPT", "InterceptTarget", "handle"]


@dataclass(frozen=True, slots=True)
class InterceptTarget:
    """What the route needs: the child's secret, the hosts, the routes, a session."""

    secret: str
    table: HostTable
    routes: Mapping[str, str]
    """Lower-case host -> base URL that replaces ``https://<host>``."""
    session: aiohttp.ClientSession
    """Verifies certificates with the default roots (``SSL_CERT_FILE`` too) and
    ``--route-ca``."""


INTERCEPT = web.AppKey("intercept", InterceptTarget)


async def handle(request: web.Request) -> web.StreamResponse:
    state = request.app[INTERCEPT]
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), state.secret.encode()):
        return _forbidden("wiretrace: /intercept/ is for wiretrace's intercept proxy only")
    authority, slash, rest = request.raw_path.removeprefix(ROUTE).partition("/")
    host = authority.rpartition(":")[0] if ":" in authority else authority
    if not slash or state.table.provider_for(host) is None:
        return _forbidden(f"wiretrace: {authority!r} is not an LLM API host")
    base = state.routes.get(host.lower()) or f"https://{authority}"
    if websocket_relay.is_websocket_upgrade(request):
        return await websocket_relay.relay(request, state.session, base + "/" + rest)
    return await forward(request, Upstream(state.session, base), "/" + rest, app_host=authority)


def _forbidden(message: str) -> web.Response:
    body = {"error": {"message": message, "type": "forbidden", "code": "forbidden"}}
    return web.Response(status=403, body=json.dumps(body).encode(), content_type="application/json")
