"""Intercept mode inside ``wiretrace serve``: the ``/intercept/`` route's state and the child.

``add_intercept`` registers the route and a cleanup context (the upstream session for
intercepted calls, the secret the child proves itself with); ``start_child`` runs
mitmdump once the server listens (it needs the server's port) and returns it for the
server to stop. Where mitmproxy is not installed, ``start_child`` says so in one warning
line and the server runs on without intercept mode.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import ssl
import sys
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from wiretrace_proxy.appkeys import SETTINGS
from wiretrace_proxy.errors import ConfigError
from wiretrace_proxy.forward import intercepted
from wiretrace_proxy.forward.intercepted import INTERCEPT, InterceptTarget
from wiretrace_proxy.intercept import child
from wiretrace_proxy.intercept.ca import ensure_ca
from wiretrace_proxy.intercept.child import InterceptChild
from wiretrace_proxy.intercept.install import find_mitmdump, intercept_dir, interpreter_of
from wiretrace_proxy.intercept.intercept_protocol import ROUTE
from wiretrace_proxy.providers import HostTable
from wiretrace_proxy.settings import Settings

log = logging.getLogger(__name__)


def add_intercept(app: web.Application) -> None:
    """The ``/intercept/`` route (register it before any catch-all) and its state."""
    app.router.add_route("*", ROUTE + "{tail:.*}", intercepted.handle)
    app.cleanup_ctx.append(_intercept_target)


def target_state(settings: Settings, session: aiohttp.ClientSession) -> InterceptTarget:
    """The route's state; ConfigError for a route to a host that is not an LLM host."""
    table = HostTable.build(settings.llm_hosts)
    routes = dict(settings.routes)
    for host in routes:
        if table.provider_for(host) is None:
            raise ConfigError(
                f"--route {host}: not an LLM host, so never intercepted (add --llm-host {host})"
            )
    return InterceptTarget(secrets.token_urlsafe(32), table, routes, session)


def ssl_context(settings: Settings) -> ssl.SSLContext:
    """The default roots (``SSL_CERT_FILE`` honoured) and ``--route-ca``; verification on."""
    context = ssl.create_default_context()
    if settings.route_ca:
        try:
            context.load_verify_locations(cafile=settings.route_ca)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"--route-ca {settings.route_ca}: {exc}") from exc
    return context


async def _intercept_target(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    context = ssl_context(settings)
    connector = aiohttp.TCPConnector(
        limit=0, ttl_dns_cache=300, enable_cleanup_closed=True, ssl=context
    )
    session = aiohttp.ClientSession(
        connector=connector,
        auto_decompress=False,
        timeout=aiohttp.ClientTimeout(
            total=None, connect=settings.connect_timeout, sock_read=settings.read_timeout
        ),
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
    )
    try:
        app[INTERCEPT] = target_state(settings, session)
    except ConfigError:
        await session.close()
        raise
    yield
    await session.close()


async def start_child(app: web.Application, server_port: int) -> InterceptChild | None:
    """Run the intercept proxy for the server on ``server_port``; None (one warning) when
    mitmproxy is not installed."""
    settings = app[SETTINGS]
    try:
        mitmdump = find_mitmdump(settings.mitmdump)
    except ConfigError as exc:
        log.warning("intercept: %s; serving without it", exc)
        return None
    files = await asyncio.to_thread(ensure_ca, intercept_dir(), interpreter_of(mitmdump))
    server = f"{_loopback(settings.host)}:{server_port}"
    proxy = await child.start(mitmdump, settings, files.confdir, server, app[INTERCEPT].secret)
    print(
        f"  intercept proxy:    HTTPS_PROXY=http://{_loopback(proxy.host)}:{proxy.port}"
        ' (eval "$(wiretrace intercept env)", or wiretrace intercept run -- CMD)',
        file=sys.stdout,
        flush=True,
    )
    return proxy


def _loopback(host: str) -> str:
    """An address to connect to for one listened on (all interfaces: loopback)."""
    if host in ("0.0.0.0", "", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
