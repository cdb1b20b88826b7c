"""Requests aiohttp's HTTP parser refuses: counted for ``/healthz``, logged without values.

A request whose head the parser cannot accept (a header line over 8190 bytes, more than 128
headers, a control character, a bad request line) never reaches a handler: aiohttp answers
400 itself and logs the parser's exception, whose text quotes the offending bytes (for an
oversized ``Authorization`` header: the first 100 bytes of the token). Its only hook is that
log call, made through the ``logger`` the app's handler arguments name, so the app gets its
own logger (``ParserRefusals.logger``, a child of ``aiohttp.server`` in all but
registration, so the same handlers and levels apply) with this filter on it: the filter
counts each refusal and rewrites its line to name the kind of fault, never the bytes.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.http_exceptions import (
    BadHttpMethod,
    BadStatusLine,
    HttpProcessingError,
    InvalidHeader,
    InvalidURLError,
    LineTooLong,
)

_SERVER_LOGGER = "aiohttp.server"


class ParserRefusals(logging.Filter):
    """Counts parser refusals and scrubs their log lines (attached to ``logger``)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.logger = logging.Logger(_SERVER_LOGGER, logging.DEBUG)
        """What aiohttp logs through for this app; lets every record reach ``filter``, which
        then applies the ``aiohttp.server`` logger's own level."""
        self.logger.parent = logging.getLogger(_SERVER_LOGGER)
        self.logger.addFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            self.count += 1
            record.msg = "refused a request the HTTP parser could not read (%s, %s): %s"
            record.args = (_remote(record), type(exc).__name__, describe(exc))
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        parent = self.logger.parent
        assert parent is not None
        return record.levelno >= parent.getEffectiveLevel()


def describe(exc: HttpProcessingError) -> str:
    """The kind of fault, without any byte of the request."""
    if isinstance(exc, LineTooLong):
        limit = exc.args[1] if len(exc.args) > 1 else "the limit of"
        return f"a header or request line longer than {limit} bytes"
    if isinstance(exc, InvalidHeader):
        return "an invalid header"
    if isinstance(exc, BadHttpMethod):
        return "not an HTTP request (bad method)"
    if isinstance(exc, BadStatusLine):
        return "a bad request line"
    if isinstance(exc, InvalidURLError):
        return "an invalid request target"
    # llhttp's messages are "<reason>:\n\n  <the bytes>"; aiohttp's own are fixed phrases.
    reason = exc.message.split("\n", 1)[0].split(":", 1)[0]
    for quote in ("'", '"'):
        reason = reason.split(quote, 1)[0]
    return reason.strip()[:80] or "a malformed request"


def _remote(record: logging.LogRecord) -> object:
    args = record.args
    return args[0] if isinstance(args, tuple) and args else "?"


REFUSALS = web.AppKey("parser_refusals", ParserRefusals)
