"""``POST /otlp/v1/traces``: the OTLP/HTTP trace receiver (and ``/v1/traces`` on
``--otlp-port``).

So ``OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:8787/otlp`` points any OpenTelemetry SDK
at wiretrace (the SDK appends ``/v1/traces``). What it answers, per the OTLP/HTTP
specification:

- 200 with an ``ExportTraceServiceResponse`` in the request's encoding (protobuf or
  JSON); ``partial_success`` counts and names the spans that were not stored (bad ids, no
  start time), the others were accepted;
- 400 for a body that is not a traces export (undecodable, or a logs or metrics export
  sent here), with a message saying why; 415 for another content type or encoding;
- 413 for a body over 64 MiB, compressed or once decompressed (counted while inflating);
- 429 with ``Retry-After`` while the writer's queue is busy (ingest takes at most half of
  it, the rest is the proxy's), 503 with ``Retry-After`` while the server stops.

Errors carry a ``google.rpc.Status`` (``code``, ``message``), protobuf or JSON like the
request. Decoding and mapping run on a worker thread: a large export never blocks the
event loop. Accepted spans go through the writer like proxied calls (batched, spooled
while the database is down), so a 200 means queued, not yet stored.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from wiretrace_proxy.access import wiring as access
from wiretrace_proxy.api.jsonio import BodyTooLarge as RawTooLarge
from wiretrace_proxy.api.jsonio import read_body
from wiretrace_proxy.appkeys import PRICER, SETTINGS, WRITER
from wiretrace_proxy.callrecord import CallRecord, JSONObject
from wiretrace_proxy.otlp.body import MAX_BODY, BodyTooLarge, UnsupportedEncoding, decompress
from wiretrace_proxy.otlp.mapping import Mapper
from wiretrace_proxy.otlp.media import JSON_TYPE, PROTOBUF_TYPE, BadPayload, media_type

if TYPE_CHECKING:
    from wiretrace_proxy.otlp.spans import Rejected

__all__ = ["OPENAPI_PATHS", "PATH", "PORT_PATH", "add_routes", "port_app", "receive", "start_port"]

log = logging.getLogger(__name__)

PATH = "/otlp/v1/traces"
"""On the server's own port; ``/v1/traces`` is the proxy's there."""
RETRY_AFTER_S = 2
_INVALID_ARGUMENT, _RESOURCE_EXHAUSTED, _UNAVAILABLE = 3, 8, 14
"""``google.rpc.Code`` values for the error bodies."""
_SHOWN = 20
_LOGGED: set[str] = set()


PORT_PATH = "/v1/traces"
"""On ``--otlp-port``, the path every OTLP exporter uses by default."""
MAIN_APP: web.AppKey[web.Application] = web.AppKey("otlp_main_app")
"""On the ``--otlp-port`` app: the server's app, whose writer and settings it uses."""


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post(PATH, receive)


def port_app(main: web.Application) -> web.Application:
    """The app served on ``--otlp-port``: the receiver at ``/v1/traces`` and nothing else,
    recording through ``main``'s writer."""
    app = web.Application(client_max_size=MAX_BODY + 1)
    app[MAIN_APP] = main
    access.guard_side_app(app, main)  # the main port's --auth-token and host checks
    app.router.add_post(PORT_PATH, _receive_on_port)
    return app


async def start_port(main: web.Application, host: str, port: int) -> web.AppRunner:
    """Listen on ``--otlp-port``; the caller cleans the runner up before the main one."""
    runner = web.AppRunner(port_app(main), handler_cancellation=True, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


async def _receive_on_port(request: web.Request) -> web.Response:
    return await _receive(request, request.app[MAIN_APP])


@dataclass(frozen=True, slots=True)
class _Decoded:
    records: list[CallRecord]
    answer: bytes
    """The 200's body, made in the thread too (protobuf is loaded there, not on the loop)."""


async def receive(request: web.Request) -> web.Response:
    """One OTLP/HTTP traces export (see the module docstring)."""
    return await _receive(request, request.app)


async def _receive(request: web.Request, app: web.Application) -> web.Response:
    media = media_type(request.headers.get("Content-Type", ""))
    if media is None:
        message = f"Content-Type must be {PROTOBUF_TYPE} or {JSON_TYPE}"
        return _error(JSON_TYPE, 415, _INVALID_ARGUMENT, message)
    try:
        raw = await read_body(request, MAX_BODY)
    except RawTooLarge:
        return _error(media, 413, _RESOURCE_EXHAUSTED, f"body larger than {MAX_BODY} bytes")
    mapper = Mapper(app[SETTINGS].project, app.get(PRICER))
    encoding = request.headers.get("Content-Encoding", "")
    project = request.headers.get("Wiretrace-Project") or None
    try:  # decompressing, decoding and mapping a big export is CPU work: off the loop
        decoded = await asyncio.to_thread(_decode, raw, encoding, media, mapper, project)
    except BodyTooLarge as exc:
        return _error(media, 413, _RESOURCE_EXHAUSTED, str(exc))
    except UnsupportedEncoding as exc:
        return _error(media, 415, _INVALID_ARGUMENT, str(exc))
    except BadPayload as exc:
        return _error(media, 400, _INVALID_ARGUMENT, str(exc))
    writer = app[WRITER]
    if decoded.records and not writer.submit_records(decoded.records):
        stopping = writer.closed
        status, code = (503, _UNAVAILABLE) if stopping else (429, _RESOURCE_EXHAUSTED)
        message = "server stopping" if stopping else "recording queue busy, retry later"
        return _error(media, status, code, message, retry_after=True)
    return web.Response(body=decoded.answer, content_type=media)


def _decode(raw: bytes, encoding: str, media: str, mapper: Mapper, project: str | None) -> _Decoded:
    """On a worker thread. Protobuf's modules are imported here, by the first export: a
    server no instrumentation sends to never loads them (several MiB in every replica)."""
    from wiretrace_proxy.otlp.decode import decode_request
    from wiretrace_proxy.otlp.spans import Rejected, read_spans

    body = decompress(raw, encoding, MAX_BODY)
    batch = read_spans(decode_request(body, media))
    records: list[CallRecord] = []
    for span in batch.spans:
        try:
            records.append(mapper.record(span, project))
        except Exception as exc:  # fail-open boundary: one odd span loses only itself
            reason = f"cannot be mapped to a record ({type(exc).__name__})"
            batch.rejected.append(Rejected(span.span_id, reason))
            if type(exc).__name__ not in _LOGGED:  # logged once per kind, then only answered
                _LOGGED.add(type(exc).__name__)
                log.exception("otlp: span %s %s", span.span_id, reason)
    return _Decoded(records, _ok(media, batch.rejected, len(records)))


def _ok(media: str, rejected: list[Rejected], accepted: int) -> bytes:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceResponse,
    )

    from wiretrace_proxy.otlp.decode import encode_response

    response = ExportTraceServiceResponse()
    if rejected:
        shown = "; ".join(f"{r.span_id}: {r.reason}" for r in rejected[:_SHOWN])
        more = f"; and {len(rejected) - _SHOWN} more" if len(rejected) > _SHOWN else ""
        partial = response.partial_success
        partial.rejected_spans = len(rejected)
        partial.error_message = (
            f"{len(rejected)} span(s) rejected, {accepted} accepted: {shown}{more}"
        )
        log.warning("otlp: %s", partial.error_message)
    return encode_response(response, media)


def _error(
    media: str, status: int, code: int, message: str, *, retry_after: bool = False
) -> web.Response:
    """A ``google.rpc.Status`` body in the request's encoding."""
    headers = {"Retry-After": str(RETRY_AFTER_S)} if retry_after else None
    if media == JSON_TYPE:
        body = json.dumps({"code": code, "message": message}).encode()
    else:
        body = _status_bytes(code, message)
    return web.Response(status=status, body=body, content_type=media, headers=headers)


def _status_bytes(code: int, message: str) -> bytes:
    """``google.rpc.Status{int32 code = 1; string message = 2}`` in protobuf encoding
    (two fields: not worth a dependency on googleapis-common-protos)."""
    text = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


_BODY_SCHEMA: JSONObject = {
    "type": "object",
    "description": (
        "An OTLP ExportTraceServiceRequest: protobuf (application/x-protobuf) or OTLP/JSON "
        "(application/json: hex ids, integer enums, 64-bit integers as strings); "
        "Content-Encoding gzip or deflate allowed."
    ),
}
_RESPONSE_SCHEMA: JSONObject = {
    "type": "object",
    "description": "ExportTraceServiceResponse; partialSuccess only when spans were rejected.",
    "properties": {
        "partialSuccess": {
            "type": "object",
            "properties": {
                "rejectedSpans": {"type": "string"},
                "errorMessage": {"type": "string"},
            },
        }
    },
}
_STATUS_SCHEMA: JSONObject = {
    "type": "object",
    "description": "google.rpc.Status (protobuf when the request was)",
    "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
    "required": ["code", "message"],
}


def _media(schema: JSONObject) -> JSONObject:
    return {
        "application/json": {"schema": schema},
        PROTOBUF_TYPE: {"schema": {"type": "string", "format": "binary"}},
    }


def _failure(description: str, retry: bool = False) -> JSONObject:
    out: JSONObject = {"description": description, "content": _media(_STATUS_SCHEMA)}
    if retry:
        out["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
    return out


OPENAPI_PATHS: dict[str, dict[str, JSONObject]] = {
    PATH: {
        "post": {
            "summary": "OTLP/HTTP trace export (OpenTelemetry SDKs and collectors)",
            "description": (
                "Point `OTEL_EXPORTER_OTLP_ENDPOINT` at `http://<host>:<port>/otlp`. Each span "
                'becomes a record in its trace, marked `attributes["wiretrace.source"] = '
                '"otlp"`; LLM spans (GenAI, OpenInference, OpenLLMetry conventions) get '
                "model, usage, messages and cost, and fold into the proxied call of the same "
                "request. The answer is in the request's encoding. With `--otlp-port` the "
                "same receiver also listens at `/v1/traces` on that port."
            ),
            "parameters": [
                {
                    "name": "Wiretrace-Project",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "project for every span (else resource service.name)",
                }
            ],
            "requestBody": {"required": True, "content": _media(_BODY_SCHEMA)},
            "responses": {
                "200": {
                    "description": "Accepted (queued for storage); rejected spans counted",
                    "content": _media(_RESPONSE_SCHEMA),
                },
                "400": _failure("Not an OTLP traces export (undecodable, logs or metrics)"),
                "413": _failure("Body over 64 MiB, compressed or decompressed"),
                "415": _failure("Content-Type or Content-Encoding not supported"),
                "429": _failure("Recording queue busy; retry after Retry-After", retry=True),
                "503": _failure("Server stopping; retry after Retry-After", retry=True),
            },
        }
    }
}
