"""Sign-in as a person does it, in headless Chromium: a page load goes to ``/signin``, the
token opens the UI on the page asked for, the recorded calls show, the cookie is HttpOnly
and holds no token, the UI runs under the content security policy, and "Sign out" ends it.

Here with the other browser tests, not in ``tests/proxy/access/``: the sync Playwright
session keeps an event loop running on the main thread, so the async tests that run after
it must not share its place in the session."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests.web.conftest import VIEWPORT, UiServer, ensure_ui_built, screenshot

TOKEN = "tok-browser-7d3e0b9c1a2f4e65"
PROMPT = "Which ports does the sign-in test use?"


@pytest.fixture(scope="module")
def signed_server(
    tmp_path_factory: pytest.TempPathFactory, upstream_url: str
) -> Iterator[UiServer]:
    ensure_ui_built()
    db = tmp_path_factory.mktemp("signin") / "w.db"
    server = UiServer(db, upstream_url, "--auth-token", TOKEN)
    try:
        yield server
    finally:
        server.stop()


def record_call(server: UiServer) -> str:
    """One real call through the proxy (open: apps authenticate upstream), once stored."""
    client = openai.OpenAI(base_url=server.base_url, api_key="sk-test-browser-0000000000000000")
    with client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": PROMPT}]
        )
    call_id = str(raw.headers["wiretrace-call-id"])
    request = urllib.request.Request(
        f"{server.url}/api/calls/{call_id}", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as resp:
                json.load(resp)
                return call_id
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code != 404 or time.monotonic() > deadline:
                raise
        time.sleep(0.02)  # another process's writer: nothing here to wait on


def sign_in(page: Page, token: str) -> None:
    expect(page.get_by_test_id("signin")).to_be_visible()
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_see_calls_sign_out(
    page: Page, signed_server: UiServer, browser: Browser, tmp_path: Path
) -> None:
    call_id = record_call(signed_server)
    csp_reports: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            csp_reports.append(message.text)

    page.on("console", on_console)
    page.goto(f"{signed_server.url}/calls/{call_id}")
    assert page.url.startswith(f"{signed_server.url}/signin?next=")
    sign_in(page, "not-the-right-token-000000")
    expect(page.get_by_role("alert")).to_contain_text("not one this server accepts")
    screenshot(page, "sign-in-refused")
    sign_in(page, TOKEN)
    page.wait_for_url(f"{signed_server.url}/calls/{call_id}")  # where the link pointed
    expect(page.get_by_text(PROMPT).first).to_be_visible()
    page.goto(f"{signed_server.url}/")
    expect(page.get_by_test_id("call-row").first).to_be_visible()
    expect(page.get_by_test_id("cell-model").first).to_have_text("gpt-4o-mini")
    screenshot(page, "signed-in-traces")
    (cookie,) = page.context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and TOKEN not in cookie["value"]
    assert page.evaluate("document.cookie") == ""  # out of reach of the page's scripts
    assert csp_reports == []  # the built UI runs under the policy

    page.get_by_test_id("sign-out").click()
    page.wait_for_url(f"{signed_server.url}/signin")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert page.context.cookies() == []
    page.goto(f"{signed_server.url}/")
    assert page.url.startswith(f"{signed_server.url}/signin?next=")


def test_another_browser_is_not_signed_in(browser: Browser, signed_server: UiServer) -> None:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    try:
        other = context.new_page()
        response = other.goto(f"{signed_server.url}/api/calls")
        assert response is not None and response.status == 401
        other.goto(f"{signed_server.url}/traces/abc")
        expect(other.get_by_test_id("signin")).to_be_visible()
    finally:
        context.close()
