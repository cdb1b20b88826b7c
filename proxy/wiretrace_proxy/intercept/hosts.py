"""The ``allow_hosts`` expressions mitmproxy gets: exactly the provider table's hosts.

mitmproxy decrypts a connection only when one of its ``host:port`` strings (CONNECT
target, SNI, ...) matches; every other connection is a raw TCP tunnel. The expressions are
the table's own anchored patterns (``providers``), so the proxy and the server (which
checks each request against ``HostTable`` again) agree on what an LLM host is.
"""

from __future__ import annotations

from collections.abc import Sequence

from wiretrace_proxy.providers import PROVIDERS, glob_regex, parse_llm_host


def allow_hosts(extra: Sequence[str] = ()) -> str:
    """One expression matching ``host:port`` of every LLM host (and ``extra`` globs)."""
    patterns = [pattern for provider in PROVIDERS for pattern in provider.host_patterns]
    patterns += [glob_regex(parse_llm_host(value)) for value in extra]
    alternatives = "|".join(f"(?:{pattern})" for pattern in patterns)
    return rf"^(?:{alternatives})\.?:\d+$"
