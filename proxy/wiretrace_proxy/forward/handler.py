"""The ``/v1/*`` handler: forward to the upstream byte for byte, tee into a Capture.

Nothing here parses a response, touches storage or waits on a lock: each upstream chunk is
appended to the capture and written to the client as it arrives; the finished capture is
handed to the sink with a synchronous ``submit`` in ``finally`` (a cancelled handler still
records). Upstream failures before a response become OpenAI-shaped 502/504 errors; a
target that would leave ``/v1`` is an OpenAI-shaped 400 (recorded too).

A request body is read whole only when the usage option could apply to it (a JSON POST to
an endpoint that takes it, up to ``INJECT_LIMIT``), into one buffer the capture then keeps
as is; every other body is streamed to the upstream as it arrives, the capture keeping up to
its cap. So a big body costs the proxy about its kept part, not copies of all of it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from wiretrace_proxy.appkeys import SETTINGS, SINK, UPSTREAM, Upstream
from wiretrace_proxy.forward import target
from wiretrace_proxy.forward.capture import Capture
from wiretrace_proxy.forward.headers import (
    CALL_ID_HEADER,
    filter_response_headers,
    split_request_headers,
)
from wiretrace_proxy.forward.include_usage import (
    INJECT_LIMIT,
    UsageChunkFilter,
    inject_include_usage,
)
from wiretrace_proxy.tracecontext import new_span_id

log = logging.getLogger(__name__)

RAW_PREVIEW_BYTES = 64 * 1024
"""Bytes kept of a streamed (non-JSON) request body or a binary response body."""
_STREAM_CHUNK = 256 * 1024
RUNNING_AFTER_S = 2.0
"""A stream still being relayed after this long gets a ``running`` record (replaced by the
final one when it ends), so a long stream shows up while it runs."""


class UpstreamFailure(Exception):
    """The upstream could not be reached or did not answer in time (before any response)."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind


async def handle(request: web.Request) -> web.StreamResponse:
    return await forward(request, request.app[UPSTREAM], request.raw_path)


async def forward(
    request: web.Request, upstream: Upstream, raw_target: str, app_host: str | None = None
) -> web.StreamResponse:
    """Forward ``request`` to ``upstream`` with ``raw_target`` (path and query as sent);
    ``app_host`` names the host the app addressed when it is not the upstream's (intercept
    mode)."""
    settings = request.app[SETTINGS]
    received, not_utf8 = decode_headers(request.raw_headers)
    headers, meta = split_request_headers(received)
    refused = target.refusal(request.method, raw_target)
    capture = Capture(
        call_id=new_span_id(),
        method=request.method,
        path=_capture_path(request, raw_target, refused is not None),
        query=request.query_string,
        started_wall=time.time(),
        t0=time.perf_counter(),
        request_headers=headers,
        meta=meta,
        max_body_bytes=settings.max_body_bytes,
        upstream=upstream.base_url,
        headers_not_utf8=not_utf8,
        app_host=app_host,
    )
    try:
        if refused is not None:
            return _refuse(capture, refused)
        return await _proxy(request, capture, CIMultiDict(headers), upstream, raw_target)
    except asyncio.CancelledError:
        capture.finish("cancelled", "cancelled", "the request was cancelled")
        raise
    finally:
        if capture.outcome is None:
            capture.finish("error", "internal_error", "the proxy failed to complete the call")
        request.app[SINK].submit(capture)


def _capture_path(request: web.Request, raw_target: str, refused: bool) -> str:
    """The path to record: as sent when refused, else decoded (``request.path`` when the
    target is the request's own)."""
    if refused:
        return target.path_of(raw_target)
    if raw_target == request.raw_path:
        return request.path
    return URL(raw_target, encoded=True).path


def decode_headers(
    raw: tuple[tuple[bytes, bytes], ...],
) -> tuple[list[tuple[str, str]], tuple[str, ...]]:
    """Header text as sent: UTF-8 values as UTF-8 (so they are forwarded as the same bytes),
    any other value as Latin-1; the second item names the headers read as Latin-1."""
    decoded: list[tuple[str, str]] = []
    not_utf8: list[str] = []
    for name, value in raw:
        key = name.decode("latin-1")
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            text = value.decode("latin-1")
            not_utf8.append(key)
        decoded.append((key, text))
    return decoded, tuple(not_utf8)


def _refuse(capture: Capture, message: str) -> web.Response:
    capture.start_response(400, [])
    capture.finish("error", "invalid_path", message)
    body = {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_path",
        }
    }
    return web.Response(
        status=400,
        body=json.dumps(body).encode(),
        content_type="application/json",
        headers={CALL_ID_HEADER: capture.call_id},
    )


async def _proxy(
    request: web.Request,
    capture: Capture,
    headers: CIMultiDict[str],
    upstream: Upstream,
    raw_target: str,
) -> web.StreamResponse:
    original = await _request_body(request, capture, headers)
    data: bytes | bytearray | aiohttp.payload.AsyncIterablePayload | None = original
    if isinstance(original, bytearray):
        data = await _with_usage_option(capture, original, headers)
    url = target.upstream_url(upstream.base_url, raw_target)
    try:
        response = await _send(upstream.session, request.method, url, headers, data, capture)
        prefetched = b""
        if capture.usage_injected and _may_reject_option(response):
            prefetched = await response.read()
            if b"stream_options" in prefetched or b"include_usage" in prefetched:
                # An upstream that refuses stream_options gets the app's own request
                # instead; usage is then estimated by the recorder.
                response.close()
                capture.usage_injected = False
                prefetched = b""
                assert isinstance(original, bytearray)
                headers["Content-Length"] = str(len(original))
                response = await _send(
                    upstream.session, request.method, url, headers, original, capture
                )
    except Exception as exc:  # noqa: BLE001 - every failure becomes a 502/504 for the app
        failure = _classify(exc, upstream.base_url)
        capture.start_response(failure.status, [])
        capture.finish("error", failure.kind, str(failure))
        return _error_response(failure, capture.call_id)
    async with response:
        return await _relay(request, response, capture, prefetched)


async def _send(
    session: aiohttp.ClientSession,
    method: str,
    url: URL,
    headers: CIMultiDict[str],
    data: bytes | bytearray | aiohttp.payload.AsyncIterablePayload | None,
    capture: Capture,
) -> aiohttp.ClientResponse:
    t = time.perf_counter()
    try:
        return await session.request(method, url, headers=headers, data=data, allow_redirects=False)
    finally:
        capture.upstream_wait += time.perf_counter() - t


def _may_reject_option(response: aiohttp.ClientResponse) -> bool:
    """A small 400 might be the upstream refusing ``stream_options``: worth reading whole."""
    length = response.content_length
    return response.status == 400 and (length is None or length <= 64 * 1024)


async def _request_body(
    request: web.Request, capture: Capture, headers: CIMultiDict[str]
) -> bytearray | aiohttp.payload.AsyncIterablePayload | None:
    """The whole body when the usage option could apply to it, else a stream to forward."""
    if not request.body_exists:
        return None
    length = request.content_length
    json_body = _is_json(headers)
    if (
        json_body
        and length is not None
        and length <= INJECT_LIMIT
        and request.method == "POST"
        and capture.endpoint.takes_include_usage
    ):
        body = await _read_whole(request, length)
        capture.add_request(body)
        return body
    cap = None if json_body else RAW_PREVIEW_BYTES
    return aiohttp.payload.AsyncIterablePayload(_stream_request(request, capture, cap))


async def _read_whole(request: web.Request, length: int) -> bytearray:
    """The body, read into one buffer of its announced size (no list of chunks joined into a
    second copy): the same object is sent upstream and kept by the capture."""
    body = bytearray(length)
    pos = 0
    async for chunk in request.content.iter_any():
        body[pos : pos + len(chunk)] = chunk
        pos += len(chunk)
    if pos < length:  # the payload parser enforces Content-Length; kept for safety
        del body[pos:]
    return body


async def _with_usage_option(
    capture: Capture, body: bytearray, headers: CIMultiDict[str]
) -> bytes | bytearray:
    """The body to send upstream: with ``include_usage`` added when the app left it out.

    Fails open: whatever goes wrong here, the app's own body is sent as it is."""
    if b'"stream"' not in body:
        return body
    try:
        if len(body) <= 1024 * 1024:
            injected = inject_include_usage(body)
        else:  # a multi-megabyte body (inline images) is parsed off the event loop's thread
            injected = await asyncio.to_thread(inject_include_usage, body)
    except Exception:  # noqa: BLE001 - the call goes as sent; usage is then estimated
        log.debug("include_usage: body left as sent", exc_info=True)
        return body
    if injected is None:
        return body
    capture.usage_injected = True  # the capture keeps the app's own body as the inputs
    headers["Content-Length"] = str(len(injected))
    return injected


async def _stream_request(
    request: web.Request, capture: Capture, cap: int | None
) -> AsyncIterator[bytes]:
    async for chunk in request.content.iter_chunked(_STREAM_CHUNK):
        capture.add_request(chunk, cap)
        yield chunk


def _is_json(headers: CIMultiDict[str]) -> bool:
    content_type = headers.get("Content-Type", "").lower()
    return "json" in content_type or not content_type


async def _relay(
    request: web.Request, response: aiohttp.ClientResponse, capture: Capture, prefetched: bytes
) -> web.StreamResponse:
    raw = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers]
    out_headers = filter_response_headers(raw)
    capture.start_response(response.status, raw)
    content_type = response.headers.get("Content-Type", "").lower()
    is_sse = content_type.startswith("text/event-stream")
    if not is_sse and "json" not in content_type and not content_type.startswith("text/"):
        capture.response_cap = RAW_PREVIEW_BYTES
    usage_filter = UsageChunkFilter() if capture.usage_injected and is_sse else None
    if usage_filter is not None:
        out_headers = [(k, v) for k, v in out_headers if k.lower() != "content-length"]
    client = web.StreamResponse(status=response.status, reason=response.reason)
    for name, value in out_headers:
        client.headers.add(name, value)
    client.headers[CALL_ID_HEADER] = capture.call_id
    await client.prepare(request)
    running = _running_record_timer(request, capture) if is_sse else None
    try:
        if prefetched:
            capture.add_chunk(prefetched)
            if not await _write(client, prefetched, capture, response):
                return client
            capture.delivered_size = capture.response_size
        await _pump(response, client, capture, usage_filter)
    finally:
        if running is not None:
            running.cancel()
    return client


def _running_record_timer(request: web.Request, capture: Capture) -> asyncio.TimerHandle:
    sink = request.app[SINK]
    return asyncio.get_running_loop().call_later(
        RUNNING_AFTER_S, lambda: sink.submit(capture.running_snapshot())
    )


async def _pump(
    response: aiohttp.ClientResponse,
    client: web.StreamResponse,
    capture: Capture,
    usage_filter: UsageChunkFilter | None,
) -> None:
    """Upstream chunks to the client as they arrive; the outcome lands in the capture.

    After each write the capture notes how much of the body the client has been handed
    (one integer, no parsing), and it notes the upstream's end of body, so the recorder
    (``record/outcome.py``) can tell a client that closed after the response's end from
    one that left before it."""
    content = response.content
    while True:
        t = time.perf_counter()
        try:
            chunk = await content.readany()
        except (TimeoutError, aiohttp.ClientError) as exc:
            capture.upstream_wait += time.perf_counter() - t
            capture.finish("error", "upstream_disconnected", _describe(exc))
            response.close()
            _abort_client(client)
            return
        capture.upstream_wait += time.perf_counter() - t
        if not chunk:
            capture.upstream_ended = True
            break
        capture.add_chunk(chunk)
        out = usage_filter.feed(chunk) if usage_filter is not None else chunk
        if out and not await _write(client, out, capture, response):
            return
        held = usage_filter.held if usage_filter is not None else 0
        capture.delivered_size = capture.response_size - held
    if usage_filter is not None:
        tail = usage_filter.flush()
        if tail and not await _write(client, tail, capture, response):
            return
        capture.delivered_size = capture.response_size
    try:
        await client.write_eof()
    except (ConnectionResetError, aiohttp.ClientConnectionResetError):
        capture.finish("cancelled", "client_disconnected", "the client went away at the end")
        return
    capture.finish("ok")  # the transport completed; the recorder judges the HTTP status


async def _write(
    client: web.StreamResponse, data: bytes, capture: Capture, response: aiohttp.ClientResponse
) -> bool:
    """Write to the client; a client that went away cancels the upstream request."""
    try:
        await client.write(data)
    except (ConnectionResetError, aiohttp.ClientConnectionResetError):
        capture.finish("cancelled", "client_disconnected", "the client disconnected mid-response")
        response.close()
        return False
    return True


def _abort_client(client: web.StreamResponse) -> None:
    """Cut the client's connection so it sees the same broken response the proxy saw."""
    client.force_close()
    writer = client._payload_writer  # noqa: SLF001 - aiohttp exposes no public abort
    transport = writer.transport if writer is not None else None
    if transport is not None:
        transport.abort()


def _classify(exc: BaseException, base_url: str) -> UpstreamFailure:
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return UpstreamFailure(
            504, "upstream_timeout", f"wiretrace: upstream {base_url} timed out: {_describe(exc)}"
        )
    return UpstreamFailure(
        502, "upstream_unreachable", f"wiretrace: upstream {base_url} unreachable: {_describe(exc)}"
    )


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _error_response(failure: UpstreamFailure, call_id: str) -> web.Response:
    body = {
        "error": {
            "message": str(failure),
            "type": failure.kind,
            "code": "bad_gateway" if failure.status == 502 else "gateway_timeout",
        }
    }
    return web.Response(
        status=failure.status,
        body=json.dumps(body).encode(),
        content_type="application/json",
        headers={CALL_ID_HEADER: call_id},
    )
