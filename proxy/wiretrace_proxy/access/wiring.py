"""``install``: the access checks, headers and sign-in routes added to the app, in order."""

from __future__ import annotations

from aiohttp import web

from wiretrace_proxy.access import signin
from wiretrace_proxy.access.auth import is_signed_in
from wiretrace_proxy.access.browser_headers import add_browser_headers
from wiretrace_proxy.access.guard import MAIN_CHECKS, SIDE_CHECKS, guard
from wiretrace_proxy.access.state import ACCESS, Access, load_access
from wiretrace_proxy.appkeys import ENGINE
from wiretrace_proxy.settings import Settings

__all__ = ["ACCESS", "Access", "guard_side_app", "install", "is_signed_in"]


def install(app: web.Application, settings: Settings) -> None:
    """Add the checks, the headers and the sign-in routes; before the UI's catch-all route.

    ``ConfigError`` if the token file cannot be read."""
    app[ACCESS] = load_access(settings, lambda: app.get(ENGINE))
    app.middlewares.append(guard(MAIN_CHECKS))
    app.on_response_prepare.append(add_browser_headers)
    signin.add_routes(app.router)


def guard_side_app(app: web.Application, main: web.Application) -> None:
    """The same host, origin and sign-in checks (and headers) for an app on a port of its
    own that takes data for ``main`` (the ``--otlp-port`` receiver)."""
    app[ACCESS] = main[ACCESS]
    app.middlewares.append(guard(SIDE_CHECKS))
    app.on_response_prepare.append(add_browser_headers)
