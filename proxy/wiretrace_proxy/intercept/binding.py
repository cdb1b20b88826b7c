"""What ``wiretrace serve --intercept`` checks about the intercept port before it listens.

The intercept proxy listens on ``--host`` too, and it tunnels any host a client names: on
an address beyond loopback with no ``--intercept-token`` it would be a relay for everyone
who can reach the port (``--auth-token`` guards the server, not this proxy). So it follows
the server's own rule (``access.binding``): refused unless ``--insecure-no-auth`` says it
is meant.
"""

from __future__ import annotations

from wiretrace_proxy.access.binding import is_loopback
from wiretrace_proxy.settings import Settings

__all__ = ["unprotected_intercept"]


def unprotected_intercept(settings: Settings) -> str | None:
    """The one-line reason ``serve`` refuses to start the intercept proxy, or None."""
    if settings.intercept_port is None or is_loopback(settings.host):
        return None
    if settings.intercept_token or settings.insecure_no_auth:
        return None
    return (
        f"--intercept listens on {settings.host}, beyond this machine, and no "
        "--intercept-token is set: set WIRETRACE_INTERCEPT_TOKEN, or pass "
        "--insecure-no-auth to let everyone who can reach the port use the proxy"
    )
