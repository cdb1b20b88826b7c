"""Where a call went: the ``provider`` and ``upstream_host`` attributes of its record.

The host is read from the base URL the capture was forwarded to (``Capture.upstream``, else
the server's ``--upstream``), and the provider from the host table (``providers``): an
upstream that is no known LLM API host (a local model server, a company gateway) falls back
to the host the app addressed (``Capture.app_host``, an intercepted call's), and is else
None. Runs on the writer thread; the answer per (upstream, app host) is cached, since a
server forwards to a handful of them.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from wiretrace_proxy.callrecord import JSONObject
from wiretrace_proxy.providers import HostTable

CACHED = 256
"""Distinct (upstream, app host) pairs whose attributes are kept."""


class UpstreamNames:
    """``attributes(upstream, app_host)`` -> ``{"provider", "upstream_host"}``, cached."""

    def __init__(self, hosts: HostTable) -> None:
        self.hosts = hosts
        self._cached = functools.lru_cache(maxsize=CACHED)(self._attributes)

    def attributes(self, upstream: str, app_host: str | None = None) -> JSONObject:
        """A new dict each time (a record's attributes are its own to change)."""
        return dict(self._cached(upstream, app_host))

    def _attributes(self, upstream: str, app_host: str | None) -> JSONObject:
        host = _hostname(upstream)
        provider = self.hosts.provider_for(host) if host else None
        if provider is None and app_host:
            addressed = _hostname(f"//{app_host}")
            provider = self.hosts.provider_for(addressed) if addressed else None
        return {"provider": provider, "upstream_host": host}


def _hostname(url: str) -> str | None:
    """The URL's host, lower-cased, without port, brackets or user info; None if it has
    none or it does not parse."""
    try:
        return urlsplit(url).hostname or None
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None
