"""The ``Host`` check: refuse requests addressed to a name this server was not given.

``names.host_allowed`` says which (and why: DNS rebinding); a refused request is answered
421 Misdirected Request, ``/v1`` in OpenAI's error shape, before any handler runs.
"""

from __future__ import annotations

from aiohttp import web

from wiretrace_proxy.access.names import host_allowed, host_name
from wiretrace_proxy.access.replies import refuse
from wiretrace_proxy.access.state import ACCESS

__all__ = ["misdirected"]


def misdirected(request: web.Request) -> web.StreamResponse | None:
    """The 421 for a request addressed to a name not allowed; None if it may go on."""
    if host_allowed(request.headers.get("Host"), request.app[ACCESS].public_hosts):
        return None
    return refuse(
        request,
        421,
        "misdirected_request",
        f"this server does not answer to the host {host_name(request.headers.get('Host', ''))!r}"
        " (start it with --public-host NAME to allow a name)",
    )
