"""API error shape: 400 ``{"error": {"message", "param"}}``.

docs/architecture.md, "The contract": a bad parameter is a 400 naming it.
"""

from __future__ import annotations

from aiohttp import web


class BadParameter(Exception):
    """A query parameter that cannot be used; becomes a 400 naming it."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


def bad_request(exc: BadParameter) -> web.Response:
    return web.json_response({"error": {"message": str(exc), "param": exc.param}}, status=400)


def not_found(message: str) -> web.Response:
    return web.json_response({"error": {"message": message, "param": None}}, status=404)
