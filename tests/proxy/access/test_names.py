"""``access.names``: which ``Host`` values are answered (DNS rebinding), and ``--public-host``.

The rule (Vite's dev server's): loopback names, every IP literal, and the names given.
"""

from __future__ import annotations

import pytest
from wiretrace_proxy.access.names import (
    host_allowed,
    host_name,
    is_loopback_name,
    parse_public_host,
)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:8787",
        "127.0.0.1",
        "localhost:8787",
        "LOCALHOST",
        "localhost.",
        "app.localhost:3000",
        "[::1]:8787",
        "[::1]",
        "10.1.2.3:8787",  # an address cannot be rebound: the page is its own origin
        "[2001:db8::5]:80",
    ],
)
def test_loopback_names_and_addresses_are_answered(host: str) -> None:
    assert host_allowed(host)


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:8787",
        "localhost.evil.example",
        "127.0.0.1.nip.io:8787",
        "",
        None,
        "[::1",
        "localhost:abc",
        "localhost:99999",
        "[::1]x",
        "127.0.0.1:",
    ],
)
def test_other_names_are_refused(host: str | None) -> None:
    assert not host_allowed(host)


def test_public_hosts_are_answered_exactly_or_with_their_subdomains() -> None:
    allowed = ("wiretrace", ".corp.example")
    assert host_allowed("wiretrace:8787", allowed)
    assert host_allowed("WireTrace", allowed)
    assert host_allowed("corp.example", allowed)
    assert host_allowed("traces.corp.example:443", allowed)
    assert not host_allowed("wiretrace.evil.example", allowed)
    assert not host_allowed("evilcorp.example", allowed)


def test_host_name_drops_the_port_and_brackets() -> None:
    assert host_name("Example.COM:8080") == "example.com"
    assert host_name("[::1]:8787") == "::1"
    assert host_name("::1") == "::1"  # a bare IPv6 address (no port possible)


def test_public_host_values_are_checked() -> None:
    assert parse_public_host(" Wiretrace.Example. ") == "wiretrace.example"
    assert parse_public_host(".corp.example") == ".corp.example"
    for bad in ("", "https://wiretrace", "wiretrace:8787", "a/b", "."):
        with pytest.raises(ValueError, match="host name"):
            parse_public_host(bad)


def test_loopback_names() -> None:
    for name in ("localhost", "app.localhost", "127.0.0.1", "127.8.9.10", "::1"):
        assert is_loopback_name(name)
    for name in ("10.0.0.1", "0.0.0.0", "::", "", "localhost.evil.example", "wiretrace"):
        assert not is_loopback_name(name)
