"""``--auth-token``: the API answers 401 without a token, pages go to ``/signin``, a bearer
token or a session from the sign-in form opens both, and ``/healthz`` shows less."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from http.cookies import SimpleCookie
from typing import Any

import aiohttp
from yarl import URL

from tests.harness import Servers
from tests.proxy.access.conftest import OTHER, TOKEN


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """One GET with no redirect followed: status, headers, body."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), exc.read()


def test_without_a_token_the_api_answers_401_and_pages_go_to_sign_in(guarded: Servers) -> None:
    status, headers, body = get(f"{guarded.proxy_url}/api/calls")
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Bearer realm="wiretrace"'
    error = json.loads(body)["error"]
    assert error["param"] is None and "Authorization: Bearer" in error["message"]
    status, headers, _ = get(f"{guarded.proxy_url}/api/calls", Authorization="Bearer wrong-token")
    assert status == 401 and 'error="invalid_token"' in headers["WWW-Authenticate"]
    status, headers, _ = get(f"{guarded.proxy_url}/traces/abc?tab=raw")
    assert status == 303
    assert URL(headers["Location"]).path == "/signin"
    assert URL(headers["Location"]).query["next"] == "/traces/abc?tab=raw"
    status, _, _ = get(f"{guarded.proxy_url}/")
    assert status == 303


def test_curl_with_a_bearer_token_reads_the_api(guarded: Servers) -> None:
    def curl(*args: str) -> tuple[int, str]:
        done = subprocess.run(
            ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        body, _, code = done.stdout.rpartition("\n")
        return int(code), body

    url = f"{guarded.proxy_url}/api/calls"
    assert curl(url)[0] == 401
    code, body = curl("-H", f"Authorization: Bearer {TOKEN}", url)
    assert code == 200 and json.loads(body) == {"calls": [], "next_cursor": None}
    assert curl("-H", f"Authorization: Bearer {OTHER}", url)[0] == 200  # rotation: both work
    assert curl("-H", f"Authorization: Bearer {TOKEN}x", url)[0] == 401


def test_healthz_shows_the_status_alone_until_signed_in(guarded: Servers) -> None:
    status, _, body = get(f"{guarded.proxy_url}/healthz")
    assert status == 200 and json.loads(body) == {"status": "ok"}
    status, _, body = get(f"{guarded.proxy_url}/healthz", Authorization=f"Bearer {TOKEN}")
    full = json.loads(body)
    assert status == 200 and full["status"] == "ok" and "pending" in full and "reasons" in full


async def test_the_sign_in_form_sets_a_session_cookie_and_sign_out_ends_it(
    guarded: Servers,
) -> None:
    base = guarded.proxy_url
    origin = {"Origin": base}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        async with session.get(f"{base}/signin?next=/calls/abc") as resp:
            page = await resp.text()
            assert resp.status == 200 and 'name="token"' in page
            assert 'value="/calls/abc"' in page
        form = {"token": "not-the-token-at-all", "next": "/calls/abc"}
        async with session.post(f"{base}/signin", data=form, headers=origin) as resp:
            assert resp.status == 401 and "not one this server accepts" in await resp.text()
            assert "Set-Cookie" not in resp.headers
        form["token"] = OTHER
        async with session.post(
            f"{base}/signin", data=form, headers=origin, allow_redirects=False
        ) as resp:
            assert resp.status == 303 and resp.headers["Location"] == "/calls/abc"
            cookie = SimpleCookie(resp.headers["Set-Cookie"])
        ((name, morsel),) = cookie.items()
        assert name.startswith("wiretrace_session_") and OTHER not in morsel.value
        assert morsel["httponly"] and morsel["samesite"] == "Lax" and morsel["path"] == "/"
        signed_in = {"Cookie": f"{name}={morsel.value}"}
        async with session.get(f"{base}/api/calls", headers=signed_in) as resp:
            assert resp.status == 200
        async with session.get(f"{base}/", headers=signed_in, allow_redirects=False) as resp:
            assert resp.status == 200
        async with session.post(
            f"{base}/signout", headers={**signed_in, **origin}, allow_redirects=False
        ) as resp:
            assert resp.status == 303 and resp.headers["Location"] == "/signin"
            cleared = SimpleCookie(resp.headers["Set-Cookie"])[name]
            assert cleared.value == "" and cleared["max-age"] == "0"
        # A copy of the cookie kept from before is no use once its owner signed out.
        async with session.get(f"{base}/api/calls", headers=signed_in) as resp:
            assert resp.status == 401


async def test_a_sign_in_form_from_another_site_is_refused(guarded: Servers) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{guarded.proxy_url}/signin",
            data={"token": TOKEN, "next": "/"},
            headers={"Origin": "https://evil.example"},
            allow_redirects=False,
        ) as resp:
            assert resp.status == 403 and "Set-Cookie" not in resp.headers


def test_without_a_token_configured_everything_is_open(open_servers: Servers) -> None:
    assert get(f"{open_servers.proxy_url}/api/calls")[0] == 200
    assert "pending" in json.loads(get(f"{open_servers.proxy_url}/healthz")[2])
    status, headers, _ = get(f"{open_servers.proxy_url}/signin?next=/ops")
    assert status == 303 and headers["Location"] == "/ops"


def test_the_otlp_receiver_needs_the_token_too(guarded: Servers) -> None:
    url = f"{guarded.proxy_url}/otlp/v1/traces"
    empty = {"Content-Type": "application/json"}
    request = urllib.request.Request(url, data=b'{"resourceSpans": []}', headers=empty)
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as exc:
        with exc:
            assert exc.code == 401 and "WWW-Authenticate" in exc.headers
    else:
        raise AssertionError("401 expected")
    request.add_header("Authorization", f"Bearer {TOKEN}")
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 200


def test_the_sign_in_cookie_is_not_forwarded_upstream(guarded: Servers) -> None:
    body = json.dumps({"model": "gpt-4o-mini", "messages": []}).encode()
    for cookie, forwarded in (
        ("wiretrace_session_8787=abc.def; theirs=1; other=2", "theirs=1; other=2"),
        ("wiretrace_session_8787=abc.def", None),
        ("theirs=1", "theirs=1"),
    ):
        request = urllib.request.Request(
            f"{guarded.proxy_url}/v1/chat/completions",
            data=body,
            headers={"Content-Type": "application/json", "Cookie": cookie},
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 200
        seen = {k.lower(): v for k, v in guarded.fake.last("/v1/chat/completions").headers.items()}
        assert seen.get("cookie") == forwarded
