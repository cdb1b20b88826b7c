"""Refusals in the shape each part of the server speaks, and which part a request is for.

The proxy (``/v1`` and the other API paths it forwards) answers as the OpenAI API does
(``{"error": {"message", "type", "param", "code"}}``), so an SDK shows the message; ``/api``
and ``/otlp`` in the API's own error shape (``{"error": {"message", "param"}}``,
``api/errors.py``); a page in plain text.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from wiretrace_proxy.forward import handler as forward
from wiretrace_proxy.forward import intercepted

__all__ = ["is_api_path", "is_proxy_request", "is_reverse_proxy_request", "refuse", "under"]


def under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(f"{prefix}/")


def is_reverse_proxy_request(request: web.Request) -> bool:
    """Whether an app's call is forwarded (``/v1/...``, ``/openai/...``, ...): asked of the
    route it matched, so the list of forwarded prefixes stays in ``forward/``."""
    return request.match_info.route.handler is forward.handle


def is_proxy_request(request: web.Request) -> bool:
    """An app's call: forwarded, or handed over by intercept mode (``/intercept/``, which
    its own secret guards)."""
    return (
        is_reverse_proxy_request(request) or request.match_info.route.handler is intercepted.handle
    )


def is_api_path(path: str) -> bool:
    """Paths answered in JSON: the API, and the OTLP receiver's."""
    return under(path, "/api") or under(path, "/otlp")


def refuse(
    request: web.Request,
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    path = request.path
    if is_proxy_request(request):
        body: object = {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": code,
            }
        }
        return web.json_response(body, status=status, headers=headers)
    if is_api_path(path):
        return web.json_response(
            {"error": {"message": message, "param": None}}, status=status, headers=headers
        )
    return web.Response(text=message + "\n", status=status, headers=headers)
