"""``GET /api/calls/export?format=jsonl|csv``: every matching call, streamed as a download.

Same filters and sort as ``/api/calls``, no pages. An export can be millions of rows, so
nothing holds the whole result: a thread of its own reads the rows from a streaming cursor
(``iter_batches``) and encodes them batch by batch, and hands each encoded chunk to the
loop through a bounded queue; when the client reads slower than the database, the thread
waits for a free slot instead of piling chunks up. Memory is a few batches whatever the
size of the export. The thread is not the loop's default executor: a long export must not
hold a worker that the API's short queries need.

The query runs before the response starts, so a database that cannot be read answers 503
like the rest of the API. A failure after the first bytes aborts the connection (no final
chunk), so a client never mistakes a truncated file for a complete one. A client that
goes away stops the thread at its next chunk, releasing its connection.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import threading
from collections.abc import Callable

from aiohttp import web
from sqlalchemy.engine import Engine, RowMapping

from wiretrace_proxy import jsonsafe
from wiretrace_proxy.api import schemas
from wiretrace_proxy.api.calls import SORT_PARAMETER, refuse
from wiretrace_proxy.api.jsonio import dumps
from wiretrace_proxy.api.openapi import FILTER_DESCRIPTION, FILTER_PARAMETERS, operation, query
from wiretrace_proxy.appkeys import ENGINE
from wiretrace_proxy.callrecord import USAGE_KEYS, JSONObject
from wiretrace_proxy.storage.filters import CallFilter, FilterError, parse_filters
from wiretrace_proxy.storage.listing import Sort, iter_batches

log = logging.getLogger(__name__)

FORMATS = {"jsonl": "application/x-ndjson", "csv": "text/csv"}
BATCH_ROWS = 200
"""Rows read and encoded at a time."""
QUEUE_CHUNKS = 4
"""Encoded batches that may wait for the client; the thread waits beyond this."""
CSV_COLUMNS = (
    *("id", "project", "trace_id", "parent_id", "kind", "op_name", "display_name"),
    *("started_at", "ended_at", "latency_ms", "ttft_ms", "overhead_ms", "status"),
    *("http_status", "model", "response_model", "prompt_tokens", "completion_tokens"),
    *("total_tokens", "cached_tokens", "reasoning_tokens", "usage_source", "cost_usd"),
    *("session_id", "user_id", "key_fingerprint", "op_version", "model_version"),
    *("prompt_digest", "inputs", "output", "error", "attributes"),
)
"""Scalar fields, usage flattened into its token columns, then JSON fields as JSON text."""
_JSON_COLUMNS = frozenset({"inputs", "output", "error", "attributes"})
_JSONL_SCALARS = tuple(
    name
    for name in CSV_COLUMNS
    if name not in _JSON_COLUMNS and name not in USAGE_KEYS and name not in ("started_at",)
)

Item = bytes | Exception | None
"""A chunk, the producer's failure, or None at the end."""


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/api/calls/export", export_calls)


async def export_calls(request: web.Request) -> web.StreamResponse:
    try:
        fmt = request.query.get("format", "jsonl")
        if fmt not in FORMATS:
            raise FilterError("format", f"format must be one of {', '.join(FORMATS)}")
        f = parse_filters(request.query, extra=("sort", "format"))
        sort = Sort.parse(request.query.get("sort"))
    except FilterError as exc:
        return refuse(exc)
    pipe = _Pipe(asyncio.get_running_loop())
    args = (request.app[ENGINE], f, sort, fmt, pipe)
    threading.Thread(target=_produce, args=args, name="wiretrace-export", daemon=True).start()
    try:
        first = await pipe.get()
        if isinstance(first, Exception):
            log.warning("storage: export failed before it started: %s", first)
            body = {"error": {"message": "storage unavailable, retry later", "param": None}}
            return web.json_response(body, status=503)
        response = web.StreamResponse(
            headers={
                "Content-Type": f"{FORMATS[fmt]}; charset=utf-8",
                "Content-Disposition": f"attachment; filename=wiretrace-calls.{fmt}",
            }
        )
        await response.prepare(request)
        item: Item = first
        while item is not None:
            if isinstance(item, Exception):
                log.warning("storage: export aborted mid-stream: %s", item)
                raise ConnectionAbortedError("export failed mid-stream") from item
            await response.write(item)
            item = await pipe.get()
        await response.write_eof()
        return response
    finally:
        pipe.stopped.set()


class _Pipe:
    """A bounded hand-over of chunks from the export thread to the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[Item] = asyncio.Queue()
        self._slots = threading.Semaphore(QUEUE_CHUNKS)
        self.stopped = threading.Event()
        """Set by the loop when nobody reads any more; the thread then stops."""

    def put(self, item: Item) -> bool:
        """Thread side: wait for a free slot; False once the loop stopped reading."""
        while not self._slots.acquire(timeout=0.1):
            if self.stopped.is_set():
                return False
        if self.stopped.is_set():
            return False
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: the server is gone
            return False
        return True

    async def get(self) -> Item:
        item = await self._queue.get()
        self._slots.release()
        return item


def _produce(engine: Engine, f: CallFilter, sort: Sort, fmt: str, pipe: _Pipe) -> None:
    encode: Callable[[list[RowMapping]], bytes] = _jsonl if fmt == "jsonl" else _csv
    try:
        with engine.connect() as conn:
            batches = iter_batches(conn, f, sort, BATCH_ROWS, raw_json=True)
            first = next(batches, [])  # runs the query before the response starts
            header = _csv_header() if fmt == "csv" else b""
            if not pipe.put(header + encode(first)):
                return
            for batch in batches:
                if not pipe.put(encode(batch)):
                    return
    except Exception as exc:  # handed to the loop, which answers 503 or aborts the stream
        pipe.put(exc)
        return
    pipe.put(None)


def _jsonl(batch: list[RowMapping]) -> bytes:
    """``CallRecord.to_api()`` per line, with the JSON columns spliced in as stored (valid
    JSON text, ASCII-escaped on SQLite) rather than parsed and serialised again: that
    round trip was half the cost of an export."""
    return "".join([_jsonl_line(row) for row in batch]).encode()


def _jsonl_line(row: RowMapping) -> str:
    fields = {name: row[name] for name in _JSONL_SCALARS}
    fields["started_at"] = row["started_at"].isoformat()
    fields["ended_at"] = row["ended_at"].isoformat() if row["ended_at"] else None
    usage = {key: row[key] for key in USAGE_KEYS}
    fields["usage"] = usage if any(v is not None for v in usage.values()) else None
    spliced = [
        f', "{name}": {_finite(row[name]) or ("{}" if name == "attributes" else "null")}'
        for name in ("inputs", "output", "error", "attributes")
    ]
    return dumps(fields)[:-1] + "".join(spliced) + "}\n"


_encode_stored = jsonsafe.encoder(compact=True)


def _finite(stored: str | None) -> str | None:
    """Stored JSON text as valid JSON: a row an older version wrote may hold ``NaN`` or
    ``Infinity``, which is re-encoded spelled (``jsonsafe``); any other text is used as it
    is (a string that merely mentions them is re-encoded to itself)."""
    if stored is None or ("NaN" not in stored and "Infinity" not in stored):
        return stored
    return _encode_stored(jsonsafe.loads(stored)[0])


def _csv_header() -> bytes:
    return (",".join(CSV_COLUMNS) + "\r\n").encode()


def _csv(batch: list[RowMapping]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in batch:
        writer.writerow([_cell(name, row[name]) for name in CSV_COLUMNS])
    return out.getvalue().encode("utf-8", errors="replace")


def _cell(name: str, value: object) -> object:
    if value is None:
        return ""
    if name in _JSON_COLUMNS:
        return _readable_json(str(value))
    if name in ("started_at", "ended_at"):
        return value.isoformat()  # type: ignore[attr-defined]
    return value


def _readable_json(stored: str) -> str:
    """The stored JSON text, with ``\\uXXXX`` escapes (how SQLite keeps non-ASCII text)
    turned back into the characters a spreadsheet should show. Text without an escape is
    used as it is: parsing and re-encoding every body was most of a CSV export's cost."""
    if "\\u" not in stored and "NaN" not in stored and "Infinity" not in stored:
        return stored
    return _readable(jsonsafe.loads(stored)[0])


_readable = jsonsafe.encoder(compact=True, ensure_ascii=False)


OPENAPI_PATHS: dict[str, dict[str, JSONObject]] = {
    "/api/calls/export": {
        "get": operation(
            "Every matching call as a download (streamed)",
            content={
                "application/x-ndjson": {"schema": schemas.ref(schemas.CallRecord)},
                "text/csv": {"schema": {"type": "string"}},
            },
            description=FILTER_DESCRIPTION
            + " JSON Lines: one call record per line. CSV columns: "
            + ", ".join(CSV_COLUMNS)
            + " (usage flattened; inputs, output, error, attributes as JSON text).",
            errors=(400, 503),
            parameters=[
                *FILTER_PARAMETERS,
                SORT_PARAMETER,
                query("format", {"type": "string", "enum": list(FORMATS)}, "default jsonl"),
            ],
        )
    }
}
