"""``--route HOST=URL`` and ``--intercept-token`` values, checked (pure functions).

A route sends the intercepted calls an app makes to an LLM host to another base URL (a
gateway, a test server): ``api.openai.com=https://127.0.0.1:8443``. The URL is verified as
itself (its certificate must name its own host), never as the host it stands in for.
"""

from __future__ import annotations

import re

from yarl import URL

from wiretrace_proxy.providers import parse_llm_host

_TOKEN = re.compile(r"[A-Za-z0-9._~-]{8,256}")


def parse_route(value: str) -> tuple[str, str]:
    """``HOST=URL`` to ``(host, base URL without a trailing slash)``; ValueError with a
    one-line reason for anything else."""
    host, sep, url = value.partition("=")
    if not sep or not host.strip() or not url.strip():
        raise ValueError("a route is HOST=URL, e.g. api.openai.com=https://gateway.example")
    name = parse_llm_host(host)
    if "*" in name:
        raise ValueError(f"route host {host!r}: name one host, not a pattern")
    url = url.strip()
    try:
        parsed = URL(url)
    except ValueError as exc:
        raise ValueError(f"route URL {url!r}: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"route URL {url!r} must be an http(s) URL with a host")
    if parsed.query_string or parsed.fragment:
        raise ValueError(f"route URL {url!r} must not have a query or fragment")
    return name, url.rstrip("/")


def parse_token(value: str) -> str:
    """A proxy token: 8 to 256 URL-safe characters (it is put into ``HTTPS_PROXY``)."""
    if not _TOKEN.fullmatch(value):
        raise ValueError("a token is 8 to 256 characters of A-Z a-z 0-9 . _ ~ -")
    return value
