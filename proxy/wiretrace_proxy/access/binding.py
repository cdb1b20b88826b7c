"""What ``wiretrace serve`` checks about its address before it listens.

Listening beyond loopback with no ``--auth-token`` would hand every recorded prompt to
anyone who can reach the port, so it is refused unless ``--insecure-no-auth`` says it is
meant (a network that is private by other means).
"""

from __future__ import annotations

from wiretrace_proxy.access.names import is_loopback_name
from wiretrace_proxy.settings import Settings

__all__ = ["is_loopback", "unprotected_bind"]


def is_loopback(host: str) -> bool:
    """Whether ``--host`` reaches only this machine (``localhost``, 127.0.0.0/8, ``::1``);
    any other name may resolve anywhere, and ``""`` is every interface."""
    return is_loopback_name(host.strip().strip("[]").lower().rstrip("."))


def unprotected_bind(settings: Settings) -> str | None:
    """The one-line reason ``serve`` refuses to start, or None."""
    has_token = bool(settings.auth_tokens or settings.auth_token_file)
    if is_loopback(settings.host) or has_token or settings.insecure_no_auth:
        return None
    return (
        f"--host {settings.host} listens beyond this machine and no --auth-token is set: set "
        "WIRETRACE_AUTH_TOKEN (or --auth-token-file), or pass --insecure-no-auth to serve "
        "everyone who can reach the port"
    )
