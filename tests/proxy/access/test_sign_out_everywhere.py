"""Signing out ends the session on every replica of one database, not only in the browser
that signed out: a copy of the cookie is refused by the other replicas within a second or
so, and other sessions stay signed in."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from http.cookies import SimpleCookie

import aiohttp
import pytest

from tests.harness import Servers
from tests.proxy.access.conftest import OTHER, TOKEN

pytestmark = pytest.mark.both_databases


@pytest.fixture
def replicas(db_url: str) -> Iterator[tuple[Servers, Servers]]:
    first = Servers(db_url, key_salt="s", auth_tokens=(TOKEN, OTHER))
    try:
        second = Servers(db_url, key_salt="s", auth_tokens=(TOKEN, OTHER))
        try:
            yield first, second
        finally:
            second.close()
    finally:
        first.close()


async def _sign_in(session: aiohttp.ClientSession, base: str, token: str) -> str:
    """The session cookie's ``Cookie`` header value after signing in at ``base``."""
    form = {"token": token, "next": "/"}
    async with session.post(
        f"{base}/signin", data=form, headers={"Origin": base}, allow_redirects=False
    ) as resp:
        assert resp.status == 303
        ((name, morsel),) = SimpleCookie(resp.headers["Set-Cookie"]).items()
    return f"{name}={morsel.value}"


async def _status(session: aiohttp.ClientSession, base: str, cookie: str) -> int:
    async with session.get(f"{base}/api/calls", headers={"Cookie": cookie}) as resp:
        return resp.status


async def test_a_session_signed_out_on_one_replica_is_refused_by_the_other(
    replicas: tuple[Servers, Servers],
) -> None:
    first, second = replicas
    # The replicas listen on different ports, and the cookie's name carries the port: the
    # copy is renamed for the second one, as a browser in front of a load balancer would
    # send one name to both.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        mine = await _sign_in(session, first.proxy_url, TOKEN)
        kept = await _sign_in(session, first.proxy_url, OTHER)
        second_name = f"wiretrace_session_{second.proxy_url.rsplit(':', 1)[1]}"
        copy = f"{second_name}={mine.split('=', 1)[1]}"
        other_copy = f"{second_name}={kept.split('=', 1)[1]}"
        assert await _status(session, second.proxy_url, copy) == 200
        async with session.post(
            f"{first.proxy_url}/signout",
            headers={"Cookie": mine, "Origin": first.proxy_url},
            allow_redirects=False,
        ) as resp:
            assert resp.status == 303
        assert await _status(session, first.proxy_url, mine) == 401  # at once where it ended
        deadline = time.monotonic() + 5
        while await _status(session, second.proxy_url, copy) == 200:
            assert time.monotonic() < deadline, "the other replica still accepts the session"
            await asyncio.sleep(0.1)
        assert await _status(session, second.proxy_url, other_copy) == 200
        assert await _status(session, first.proxy_url, kept) == 200
