"""No credential reaches the disk or the log, in any position a call can carry one.

A real ``wiretrace serve`` (debug logging) in front of the fake upstream gets calls
carrying 20 kinds of credentials in every position: auth and provider headers, the query,
``Wiretrace-Property-*``, session and user ids, the display name, request body fields
(top level, nested, in a list, in prose), and an upstream that echoes all of it back (as
JSON, as plain text, and as a response header). After a clean stop, the raw bytes of the
SQLite file, its ``-wal`` and ``-shm`` (also copied while the server ran) and the server's
output must hold none of them, in plain or URL-encoded form.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import fake_upstream_url
from tests.proxy.process import ServerProcess, get_call
from tests.proxy.record.test_redact import ALNUM, HEX, JWT, SHAPED, fake

# Credentials with a shape of their own are masked wherever they appear, ids and prose
# included; the name-only ones (an Azure key is 32 hex digits, an AWS secret 40 base64
# characters) are masked wherever a name says what they are, which is where apps put them.
SHAPE_KINDS: dict[str, str] = {
    "openai": dict(SHAPED)["sk"],
    "openai-project": dict(SHAPED)["sk-proj"],
    "openai-service": dict(SHAPED)["sk-svcacct"],
    "anthropic": dict(SHAPED)["sk-ant"],
    "google": dict(SHAPED)["AIza"],
    "google-oauth": dict(SHAPED)["ya29"],
    "aws-access-key": dict(SHAPED)["AKIA"],
    "aws-session-key": dict(SHAPED)["ASIA"],
    "github": dict(SHAPED)["ghp"],
    "github-pat": dict(SHAPED)["github_pat"],
    "slack": dict(SHAPED)["xoxb"],
    "huggingface": dict(SHAPED)["hf"],
    "groq": dict(SHAPED)["gsk"],
    "xai": dict(SHAPED)["xai"],
    "azure-ad-jwt": JWT,
    "cloudflare-origin-ca": dict(SHAPED)["cf"],
}
NAME_KINDS: dict[str, str] = {
    "azure-api-key": fake("azure", 32, HEX),
    "aws-secret-key": fake("aws-secret", 40, ALNUM + "/+"),
    "cloudflare-api-token": fake("cloudflare", 40, ALNUM + "_-"),
    "password": "correct-horse-battery-staple",
}
KINDS = {**SHAPE_KINDS, **NAME_KINDS}
assert len(KINDS) == 20


@pytest.fixture
def upstream() -> Iterator[str]:
    with fake_upstream_url() as url:
        yield url


def headers_for(secret: str, shaped: bool) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {secret}",
        "x-goog-api-key": secret,
        "Ocp-Apim-Subscription-Key": secret,
        "api-key": secret,
        "x-api-key": secret,
        "cf-aig-authorization": f"Bearer {secret}",
        "x-portkey-api-key": secret,
        "X-Amz-Security-Token": secret,
        "Cookie": f"theme=dark; session={secret}",
        "Wiretrace-Property-Api-Key": secret,
        "Wiretrace-Property-Client-Secret": secret,
        "Wiretrace-Property-Team": "search",
    }
    if shaped:
        headers |= {
            "X-Trace-Note": f"called with {secret}",
            "Wiretrace-Property-Note": f"uses {secret}",
            "Wiretrace-Session-Id": secret,
            "Wiretrace-User-Id": secret,
            "Wiretrace-Name": f"call with {secret}",
        }
    else:
        headers |= {"Wiretrace-Session-Id": "session-42", "Wiretrace-User-Id": "user-7"}
    return headers


def body_for(secret: str, shaped: bool) -> dict[str, Any]:
    prose = f"here is my key {secret} and api_key={secret}" if shaped else f"api_key={secret}"
    return {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": prose}],
        "max_tokens": 5,
        "api_key": secret,
        "metadata": {"auth": {"client_secret": secret, "secret_list": [secret]}},
        "aws_secret_access_key": secret,
        "password": secret,
        "extra_headers": {"api-key": secret, "x-goog-api-key": secret},
    }


def query_for(secret: str, shaped: bool) -> str:
    params = [("api-version", "2024-06-01"), ("key", secret), ("api_key", secret)]
    params += [("sig", secret), ("q", "café au lait")]
    if shaped:
        params.append(("note", secret))
    return urllib.parse.urlencode(params)


def call(base: str, path: str, secret: str, shaped: bool, scenario: str = "") -> str:
    headers = headers_for(secret, shaped)
    if scenario:
        headers["x-fake-scenario"] = scenario
    request = urllib.request.Request(
        f"{base}{path}?{query_for(secret, shaped)}",
        data=json.dumps(body_for(secret, shaped)).encode(),
        headers=headers,
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        return str(response.headers["Wiretrace-Call-Id"])


def forms(secret: str) -> set[bytes]:
    """The secret as stored bytes could spell it: plain, URL-encoded, JSON-escaped."""
    return {
        secret.encode(),
        urllib.parse.quote(secret, safe="").encode(),
        urllib.parse.quote_plus(secret).encode(),
        json.dumps(secret)[1:-1].encode(),
    }


def files(db: Path) -> dict[str, bytes]:
    return {
        path.name: path.read_bytes()
        for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"))
        if path.exists()
    }


def test_no_credential_is_stored_or_logged(upstream: str, tmp_path: Path) -> None:
    db = tmp_path / "battery.db"
    server = ServerProcess(upstream, db, "--log-level", "debug", "--key-salt", "battery")
    ids: dict[str, list[str]] = {}
    try:
        for kind, secret in KINDS.items():
            shaped = kind in SHAPE_KINDS
            ids[kind] = [
                call(server.url, "/v1/echo", secret, shaped),
                call(server.url, "/v1/echo", secret, shaped, "echo_text"),
                call(server.url, "/v1/chat/completions", secret, shaped),
            ]
        records = {kind: [get_call(server.url, i) for i in found] for kind, found in ids.items()}
        while_running = files(db)
    finally:
        code, log = server.stop()
    assert code == 0, log
    after_stop = files(db)

    # The calls were recorded, with their masks and with everything else intact.
    for kind, (echo, text, chat) in records.items():
        attributes: Any = echo["attributes"]
        assert "api-version=2024-06-01&key=[redacted" in attributes["request"]["query"]
        assert "&q=café au lait" in attributes["request"]["query"]  # kept as received
        assert attributes["properties"]["team"] == "search"
        assert attributes["properties"]["api-key"].startswith("[redacted")
        assert attributes["request"]["headers"]["authorization"].startswith("Bearer [redacted")
        assert echo["key_fingerprint"] and str(echo["key_fingerprint"]).startswith(
            tuple("0123456789abcdef")
        )
        assert "[redacted" in json.dumps(echo["output"]) and "[redacted" in json.dumps(
            text["output"]
        )
        assert chat["usage"] and chat["usage"]["prompt_tokens"]  # type: ignore[index]
        assert chat["inputs"]["max_tokens"] == 5  # type: ignore[index]
        if kind in NAME_KINDS:
            assert (echo["session_id"], echo["user_id"]) == ("session-42", "user-7")
        else:
            assert str(echo["session_id"]).startswith("[redacted:")

    leaks = [
        (kind, where)
        for kind, secret in KINDS.items()
        for where, data in [
            *((f"{name} (running)", blob) for name, blob in while_running.items()),
            *((f"{name} (stopped)", blob) for name, blob in after_stop.items()),
            ("server log", log.encode()),
        ]
        if any(form in data for form in forms(secret))
    ]
    assert not leaks, leaks
    assert after_stop["battery.db"].count(b"[redacted") > 20 * 3  # the masks were written
