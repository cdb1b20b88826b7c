"""``--otlp-port``: the receiver on a port of its own keeps the main port's access rules
(``--auth-token``, the host check)."""

from __future__ import annotations

import urllib.error
import urllib.request

from wiretrace_proxy.api.otlp import port_app

from tests.harness import Servers, start_site
from tests.proxy.access.conftest import TOKEN


def status_of(request: urllib.request.Request) -> int:
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code


def test_the_otlp_port_asks_for_the_token_and_a_known_host(guarded: Servers) -> None:
    runner, url = guarded.thread.call(start_site(port_app(guarded.app)))
    try:

        def export(**headers: str) -> int:
            request = urllib.request.Request(
                f"{url}/v1/traces",
                data=b'{"resourceSpans": []}',
                headers={"Content-Type": "application/json", **headers},
            )
            return status_of(request)

        assert export() == 401
        assert export(Authorization=f"Bearer {TOKEN}x") == 401
        assert export(Authorization=f"Bearer {TOKEN}", Host="evil.example") == 421
        assert export(Authorization=f"Bearer {TOKEN}") == 200
    finally:
        guarded.thread.call(runner.cleanup())
