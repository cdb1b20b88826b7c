"""Reading the JSON bodies of the datasets and evaluations API into their models.

One rule for every route: a body that is not a JSON object, or a field that does not fit
its model, is a 400 whose one-line message names the field by its path
(``rows.3.row_index``); a body over the route's cap is a 413. Query numbers
(``offset``, ``limit``) are read here too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine

from wiretrace_proxy.api.errors import BadParameter
from wiretrace_proxy.api.jsonio import json_response, read_json
from wiretrace_proxy.appkeys import SETTINGS
from wiretrace_proxy.storage.engine import write_transaction

__all__ = ["iso", "offset_limit", "parse_body", "project_of", "read_model", "write", "WriteFailed"]

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class WriteFailed(Exception):
    """The database refused a write; the answer is 503 (retry later), nothing half-stored."""

    def response(self) -> web.Response:
        body = {"error": {"message": "storage unavailable, retry later", "param": None}}
        return json_response(body, status=503)


async def write(engine: Engine, fn: Callable[[Connection, datetime], T]) -> T:
    """``fn(conn, now)`` in one transaction on a worker thread: stored when it returns;
    ``WriteFailed`` when the database refuses it.

    On SQLite the transaction begins ``IMMEDIATE``: these writes read first (is the run
    there? is the version?), and a deferred transaction that read before the writer
    thread committed a batch would fail at once instead of waiting its turn. A unique key
    taken by a concurrent request for the same thing (the same rows, the same run id) is
    run once more: it then finds what the other stored."""

    def once() -> T:
        with write_transaction(engine) as conn:
            return fn(conn, datetime.now(UTC))

    def work() -> T:
        try:
            try:
                return once()
            except sa_exc.IntegrityError:
                return once()
        except (sa_exc.SQLAlchemyError, OSError) as exc:
            log.warning("storage: evaluation write not stored: %s", exc)
            raise WriteFailed() from exc

    return await asyncio.to_thread(work)


async def read_model(request: web.Request, model: type[M], limit: int) -> M:
    """The body as ``model``; ``BadParameter`` or ``BodyTooLarge`` when it is not one."""
    body, _ = await read_json(request, limit)
    return parse_body(body, model)


def parse_body(body: object, model: type[M]) -> M:
    if not isinstance(body, dict):
        raise BadParameter("body", "body must be a JSON object")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise explain(exc, model) from None


def explain(exc: ValidationError, model: type[BaseModel]) -> BadParameter:
    """The first problem as one line naming the field (``body`` for the whole object)."""
    error = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in error["loc"]) or "body"
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return BadParameter(field, f"unknown field {field!r}")
    if error["type"] == "missing":
        return BadParameter(field, f"{field} is required")
    return BadParameter(field, f"{field}: {message}")


def project_of(request: web.Request, given: str | None) -> str:
    """The project named in the body or query, else the server's default project."""
    return given or request.app[SETTINGS].project


def offset_limit(
    query: Mapping[str, str], *, default: int = 100, maximum: int = 1000
) -> tuple[int, int]:
    """``offset`` (default 0) and ``limit`` (default ``default``, at most ``maximum``)."""
    return _int(query, "offset", 0, 0, None), _int(query, "limit", default, 1, maximum)


def _int(query: Mapping[str, str], name: str, default: int, low: int, high: int | None) -> int:
    text = query.get(name)
    if text is None or text == "":
        return default
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise BadParameter(name, f"{name} must be a whole number, got {text!r}")
    value = int(text)
    if value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise BadParameter(name, f"{name} must be {bound}, got {value}")
    return value


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
