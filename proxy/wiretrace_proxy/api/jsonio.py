"""JSON in and out of the API: bodies read under a byte cap, answers always valid JSON.

Why a cap on the bytes read: ``Content-Length`` is optional (a chunked body has none), so a
limit that only checks the header lets a client stream any size into memory. The body is
read chunk by chunk and refused as soon as it passes the cap (413).

Why one ``dumps``: Python's ``json.dumps`` writes ``NaN`` and ``Infinity``, which no
browser parses; rows written by an older version may hold them. Every JSON answer goes
through ``jsonsafe.dumps`` (``allow_nan=False``, non-finite numbers spelled as strings).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from wiretrace_proxy import jsonsafe
from wiretrace_proxy.api.errors import BadParameter
from wiretrace_proxy.callrecord import JSON

__all__ = ["BodyTooLarge", "dumps", "json_response", "read_body", "read_json"]

_CHUNK = 64 * 1024

dumps = jsonsafe.dumps
"""``json.dumps`` for answers, never emitting ``NaN`` (pass as ``web.json_response(dumps=)``)."""


def json_response(body: Any, *, status: int = 200) -> web.Response:
    """``web.json_response`` with ``dumps``: the answer is valid JSON whatever it holds."""
    return web.json_response(body, status=status, dumps=dumps)


class BodyTooLarge(Exception):
    """A request body over its endpoint's cap; the answer is 413 naming ``body``."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"body larger than {limit} bytes")
        self.limit = limit

    def response(self) -> web.Response:
        return json_response({"error": {"message": str(self), "param": "body"}}, status=413)


async def read_body(request: web.Request, limit: int) -> bytes:
    """The request body, read chunk by chunk; ``BodyTooLarge`` once it passes ``limit``
    bytes (at once when ``Content-Length`` says so), whether or not it is chunked."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(limit)
    raw = bytearray()
    async for chunk in request.content.iter_chunked(_CHUNK):
        raw += chunk
        if len(raw) > limit:
            raise BodyTooLarge(limit)
    return bytes(raw)


def parse_json(raw: bytes) -> tuple[JSON, bool]:
    """A body as JSON, non-finite numbers spelled (and whether there was one); a
    ``BadParameter`` naming ``body`` if it is not JSON, not UTF-8 or nested too deep."""
    try:
        return jsonsafe.loads(raw)
    except RecursionError:
        raise BadParameter("body", "body is nested too deep to read") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadParameter("body", f"body is not valid JSON: {exc}") from None


async def read_json(request: web.Request, limit: int) -> tuple[JSON, bool]:
    """``read_body`` then ``parse_json``."""
    return parse_json(await read_body(request, limit))
