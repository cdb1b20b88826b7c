"""Which ``Host`` names the server answers (pure functions; ``hosts`` is the check).

Why: DNS rebinding. A web page at ``evil.example`` can point its own name at 127.0.0.1 and
then read ``http://evil.example:8787/api/calls`` as a same-origin page, prompts and all, or
post to ``/v1`` and spend the key the proxy adds or a local model's time. The browser still
sends ``Host: evil.example``, so a server that answers only the names it knows is out of
reach. The rule is the one Vite's dev server follows: loopback names (``localhost``,
``*.localhost``), every IP address literal (a page cannot rebind an address, and a page at
an address is its own origin) and the names given with ``--public-host`` (``.example.com``
also allows its subdomains). It holds for every path, ``/v1`` included: an app in another
container that calls ``http://wiretrace:8787/v1`` needs ``--public-host wiretrace``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

__all__ = ["host_allowed", "host_name", "is_loopback_name", "parse_public_host"]


def parse_public_host(value: str) -> str:
    """A ``--public-host`` value: a DNS name (``.name`` for it and its subdomains)."""
    name = value.strip().lower().rstrip(".")
    if not name or any(c in name for c in ":/@ ") or name.strip(".") == "":
        raise ValueError("a host name with no scheme, port or path (like wiretrace.example)")
    return name


def host_name(host: str) -> str:
    """The name of a ``Host`` header value, without its port or IPv6 brackets, lower case."""
    value = host.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def _port_ok(host: str) -> bool:
    """Whether the port of a ``Host`` value, if it has one, is a port number."""
    value = host.strip()
    if value.startswith("["):
        rest = value[value.find("]") + 1 :] if "]" in value else ""
    elif value.count(":") == 1:
        rest = value[value.find(":") :]
    else:
        rest = ""
    if not rest:
        return True
    port = rest.removeprefix(":")
    return rest.startswith(":") and port.isascii() and port.isdigit() and int(port) <= 65535


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def is_loopback_name(name: str) -> bool:
    """``localhost``, ``*.localhost`` or a loopback address (``127.0.0.0/8``, ``::1``)."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_allowed(host: str | None, public_hosts: Iterable[str] = ()) -> bool:
    """Whether a request with this ``Host`` header is answered."""
    if not host or not _port_ok(host):
        return False  # HTTP/1.1 requires one; a browser always sends a well-formed one
    name = host_name(host)
    if name == "localhost" or name.endswith(".localhost") or _is_ip(name):
        return True
    for allowed in public_hosts:
        if name == allowed or (allowed.startswith(".") and f".{name}".endswith(allowed)):
            return True
    return False
