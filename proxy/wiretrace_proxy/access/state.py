"""What the access checks share, built once from ``Settings`` and kept on the app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.engine import Engine

from wiretrace_proxy.access.revocations import Revocations
from wiretrace_proxy.access.sessions import Sessions
from wiretrace_proxy.access.tokens import TokenSet, read_token_file
from wiretrace_proxy.settings import Settings

__all__ = ["ACCESS", "Access", "load_access"]


@dataclass(frozen=True, slots=True)
class Access:
    tokens: TokenSet
    """``--auth-token`` (and the token file): empty means the API and UI are open."""
    proxy_tokens: TokenSet
    """``--proxy-token``: empty means ``/v1`` is open."""
    public_hosts: tuple[str, ...]
    """``--public-host`` names answered besides loopback names and IP addresses."""
    revocations: Revocations
    """The sessions ended by ``/signout``."""

    @property
    def sessions(self) -> Sessions:
        return Sessions(self.tokens)


ACCESS = web.AppKey("access", Access)


def _no_database() -> Engine | None:
    return None


def load_access(settings: Settings, engine: Callable[[], Engine | None] = _no_database) -> Access:
    """The tokens in force (the token file read now: ``ConfigError`` if it cannot be);
    ``engine`` gives the database once storage is open (sign-outs are kept there)."""
    from_file = read_token_file(settings.auth_token_file) if settings.auth_token_file else ()
    return Access(
        tokens=TokenSet.of(settings.auth_tokens, from_file),
        proxy_tokens=TokenSet.of(settings.proxy_tokens),
        public_hosts=settings.public_hosts,
        revocations=Revocations(engine),
    )
