"""A fake OpenAI upstream on loopback, deterministic so direct and proxied calls compare.

It answers like the real API does where wiretrace cares: chat streams put ``"usage":null``
on every chunk and a usage-only final chunk when ``stream_options.include_usage`` is set,
and nothing of the sort otherwise; ids and ``created`` derive from the request body, so the
same request gets the same bytes. The endpoints answer under other providers' paths too
(``PROVIDER_PREFIXES``: Azure OpenAI's deployments, which require ``api-version`` as Azure
does, Groq's ``/openai/v1``, OpenRouter's ``/api/v1``, Gemini's ``/v1beta/openai``). A test
picks a behaviour with the ``x-fake-scenario``
request header (sent by the ``openai`` SDK via ``extra_headers``), e.g. ``drip_<seconds>``
between events or ``linger_<seconds>`` between a stream's last event and its end of body,
or ``first_429_<n>``: 429 to the first ``n`` tries of the ``openai`` SDK (its
``x-stainless-retry-count``), then the answer.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from . import cassettes
from . import fake_streams as streams

JSONDict = dict[str, Any]


@dataclass
class Seen:
    """One request as the upstream received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    query: str = ""


@dataclass
class FakeUpstream:
    """State shared by the handlers: what was received, and events tests wait on."""

    seen: list[Seen] = field(default_factory=list)
    stream_started: asyncio.Event = field(default_factory=asyncio.Event)
    stream_closed: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    """A ``hold`` scenario waits on this before it finishes its stream (``hold_end``: before
    it ends the body, its last event sent)."""
    in_flight: int = 0
    """Requests being answered right now."""
    max_in_flight: int = 0
    """The most requests ever answered at once (a client's concurrency, as seen here)."""

    def last(self, path: str | None = None) -> Seen:
        matches = [s for s in self.seen if path is None or s.path == path]
        return matches[-1]


FAKE = web.AppKey("fake", FakeUpstream)
SIZE = web.RequestKey("size", int)
SHA256 = web.RequestKey("sha256", str)


@web.middleware
async def replay(request: web.Request, handler: Handler) -> web.StreamResponse:
    """``x-fake-replay: <fixture path>#<index>`` answers with that recorded response."""
    target = request.headers.get("x-fake-replay")
    if not target:
        return await handler(request)
    await _receive(request)
    path, _, index = target.partition("#")
    recorded = cassettes.load(path)[int(index or 0)]
    response = web.StreamResponse(status=recorded.status)
    content_type = recorded.content_type or (
        "text/event-stream" if recorded.is_stream else "application/json"
    )
    response.headers["Content-Type"] = content_type
    await response.prepare(request)
    for piece in _event_pieces(recorded.body) if recorded.is_stream else [recorded.body]:
        await response.write(piece)
    await response.write_eof()
    return response


@web.middleware
async def count_in_flight(request: web.Request, handler: Handler) -> web.StreamResponse:
    fake = request.app[FAKE]
    fake.in_flight += 1
    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
    try:
        return await handler(request)
    finally:
        fake.in_flight -= 1


def _event_pieces(body: bytes) -> list[bytes]:
    """A recorded stream split after each blank line, as the upstream sent events."""
    pieces, start = [], 0
    while (end := body.find(b"\n\n", start)) != -1:
        pieces.append(body[start : end + 2])
        start = end + 2
    if start < len(body):
        pieces.append(body[start:])
    return pieces


def create_fake_upstream() -> web.Application:
    app = web.Application(client_max_size=1024**3, middlewares=[count_in_flight, replay])
    app[FAKE] = FakeUpstream()
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/v1/completions", completions)
    app.router.add_post("/v1/responses", responses)
    app.router.add_post("/v1/embeddings", embeddings)
    app.router.add_post("/v1/audio/transcriptions", upload_summary)
    app.router.add_post("/v1/files", upload_summary)
    app.router.add_get("/v1/models", models)
    app.router.add_route("*", "/v1/echo", echo)
    app.router.add_route("*", "/v1/{tail:.*}", not_found)
    for prefix in PROVIDER_PREFIXES:
        azure = prefix.startswith("/openai/deployments/")
        for name, handler in (
            ("chat/completions", chat_completions),
            ("completions", completions),
            ("embeddings", embeddings),
            ("responses", responses),
        ):
            app.router.add_post(f"{prefix}/{name}", _azure(handler) if azure else handler)
    return app


PROVIDER_PREFIXES = ("/openai/deployments/{deployment}", "/openai/v1", "/api/v1", "/v1beta/openai")
"""Other providers' paths to the same endpoints as ``/v1``."""


def _azure(handler: Handler) -> Handler:
    """An Azure OpenAI deployment route: without ``api-version`` it is Azure's 404."""

    async def deployment(request: web.Request) -> web.StreamResponse:
        if "api-version" not in request.query:
            await _receive(request)
            return json_response({"error": {"code": "404", "message": "Resource not found"}}, 404)
        return await handler(request)

    return deployment


async def _receive(request: web.Request) -> tuple[FakeUpstream, bytes]:
    fake = request.app[FAKE]
    size = 0
    digest = hashlib.sha256()
    kept = bytearray()
    async for chunk in request.content.iter_chunked(1 << 16):
        size += len(chunk)
        digest.update(chunk)
        if len(kept) < 1 << 20:
            kept += chunk
    headers = {k.lower(): v for k, v in request.headers.items()}
    fake.seen.append(Seen(request.method, request.path, headers, bytes(kept), request.query_string))
    request[SIZE] = size
    request[SHA256] = digest.hexdigest()
    return fake, bytes(kept)


def error_body(status: int) -> JSONDict:
    kinds = {
        400: ("invalid_request_error", "invalid_value", "Invalid value for 'temperature'."),
        401: (
            "invalid_request_error",
            "invalid_api_key",
            "Incorrect API key provided: sk-...abcd.",
        ),
        404: ("invalid_request_error", "unknown_url", "Unknown request URL."),
        429: ("rate_limit_exceeded", "rate_limit_exceeded", "Rate limit reached for gpt-4o."),
        500: ("server_error", None, "The server had an error while processing your request."),
    }
    kind, code, message = kinds.get(status, ("server_error", None, "error"))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def json_response(body: object, status: int = 200, *, gzip_body: bool = False) -> web.Response:
    raw = json.dumps(body).encode()
    headers = {"x-request-id": "req_" + hashlib.sha1(raw).hexdigest()[:12]}
    if gzip_body:
        headers["Content-Encoding"] = "gzip"
        raw = gzip.compress(raw, mtime=0)
    return web.Response(status=status, body=raw, content_type="application/json", headers=headers)


def _scenario(request: web.Request) -> str:
    return request.headers.get("x-fake-scenario", "")


async def _maybe_fail(request: web.Request) -> web.Response | None:
    scenario = _scenario(request)
    if scenario.startswith("error_"):
        status = int(scenario.removeprefix("error_"))
        headers = {"retry-after": "0"} if status == 429 else {}
        response = json_response(error_body(status), status)
        response.headers.update(headers)
        return response
    if scenario.startswith("first_429_"):  # e.g. first_429_1: the first try is limited
        tries = int(scenario.removeprefix("first_429_"))
        if int(request.headers.get("x-stainless-retry-count", "0")) < tries:
            response = json_response(error_body(429), 429)
            response.headers["retry-after"] = "0"
            return response
    if scenario.startswith("slow_"):
        await asyncio.sleep(float(scenario.removeprefix("slow_")))
    return None


async def chat_completions(request: web.Request) -> web.StreamResponse:
    fake, body = await _receive(request)
    failed = await _maybe_fail(request)
    if failed is not None:
        return failed
    payload: JSONDict = json.loads(body)
    scenario = _scenario(request)
    options = payload.get("stream_options") or {}
    if scenario == "reject_stream_options" and "stream_options" in payload:
        # What OpenAI-compatible servers without the option answer (vLLM, older gateways).
        message = "Unrecognized request argument supplied: stream_options"
        error = {"error": {"message": message, "type": "invalid_request_error", "code": None}}
        return json_response(error, 400)
    plan = streams.chat_plan(payload, scenario)
    if not payload.get("stream"):
        return json_response(plan.completion(), gzip_body=scenario == "gzip")
    include_usage = bool(options.get("include_usage"))
    events = plan.chunks(include_usage)
    return await _stream(request, fake, events, scenario)


async def completions(request: web.Request) -> web.StreamResponse:
    fake, body = await _receive(request)
    failed = await _maybe_fail(request)
    if failed is not None:
        return failed
    payload: JSONDict = json.loads(body)
    plan = streams.completion_plan(payload)
    if not payload.get("stream"):
        return json_response(plan.completion())
    include_usage = bool((payload.get("stream_options") or {}).get("include_usage"))
    return await _stream(request, fake, plan.chunks(include_usage), _scenario(request))


async def responses(request: web.Request) -> web.StreamResponse:
    fake, body = await _receive(request)
    failed = await _maybe_fail(request)
    if failed is not None:
        return failed
    payload: JSONDict = json.loads(body)
    plan = streams.responses_plan(payload)
    if not payload.get("stream"):
        return json_response(plan.response())
    return await _stream(request, fake, plan.events(), _scenario(request))


async def _stream(
    request: web.Request, fake: FakeUpstream, events: list[bytes], scenario: str
) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream; charset=utf-8", "x-request-id": "req_s"}
    )
    await response.prepare(request)
    fake.stream_started.set()
    try:
        for index, event in enumerate(events):
            if scenario == "midstream_drop" and index == len(events) // 2:
                assert request.transport is not None
                request.transport.abort()
                return response
            if scenario == "midstream_error" and index == len(events) // 2:
                await response.write(streams.error_event())
                await response.write_eof()
                return response
            if scenario == "hold" and index == 2:
                await fake.release.wait()
            await response.write(event)
            if scenario.startswith("drip_"):
                await asyncio.sleep(float(scenario.removeprefix("drip_")))
        if scenario.startswith("linger_"):  # the last event is out; the body ends later
            await asyncio.sleep(float(scenario.removeprefix("linger_")))
        if scenario == "hold_end":  # ... or once the test sets ``release``
            await fake.release.wait()
        await response.write_eof()
    finally:
        fake.stream_closed.set()
    return response


async def embeddings(request: web.Request) -> web.Response:
    _fake, body = await _receive(request)
    payload: JSONDict = json.loads(body)
    inputs = payload["input"] if isinstance(payload["input"], list) else [payload["input"]]
    dims = int(payload.get("dimensions", 8))
    data = [
        {
            "object": "embedding",
            "index": i,
            "embedding": [round(0.001 * (i + j), 6) for j in range(dims)],
        }
        for i in range(len(inputs))
    ]
    tokens = sum(len(str(text).split()) for text in inputs)
    return json_response(
        {
            "object": "list",
            "data": data,
            "model": payload.get("model", "text-embedding-3-small"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


async def upload_summary(request: web.Request) -> web.Response:
    await _receive(request)
    return json_response(
        {
            "text": f"received {request[SIZE]} bytes",
            "bytes": request[SIZE],
            "sha256": request[SHA256],
            "content_type": request.headers.get("Content-Type", ""),
        }
    )


async def models(request: web.Request) -> web.Response:
    await _receive(request)
    return json_response({"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]})


async def echo(request: web.Request) -> web.Response:
    """What was received (headers, query, body) sent back, as an upstream that echoes
    credentials would; ``x-fake-scenario: echo_text`` answers in plain text, and the
    request's ``x-goog-api-key`` comes back as a response header too."""
    _fake, body = await _receive(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    if _scenario(request) == "echo_text":
        lines = [f"{k}: {v}" for k, v in headers.items()]
        lines += [f"query: {request.query_string}", body.decode("utf-8", "replace")]
        response = web.Response(text="\n".join(lines), content_type="text/plain")
    else:
        parsed = json.loads(body) if body else None
        echoed = {"headers": headers, "query": dict(request.query), "body": parsed}
        response = json_response(echoed)
    if "x-goog-api-key" in headers:
        response.headers["x-goog-api-key"] = headers["x-goog-api-key"]
    return response


async def not_found(request: web.Request) -> web.Response:
    await _receive(request)
    return json_response(error_body(404), 404)


@dataclass
class RawRequest:
    """One request exactly as it arrived on the socket."""

    line: bytes
    """The request line, e.g. ``b"GET /v1/models HTTP/1.1"``."""
    head: bytes
    """The header block (without the request line and the blank line)."""
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        """The raw value of header ``name`` (case-insensitive), as its bytes."""
        for line in self.head.split(b"\r\n"):
            key, _, value = line.partition(b":")
            if key.strip().lower() == name.lower():
                return value.strip(b" \t")
        return None


@dataclass
class RawUpstream:
    """An HTTP/1.1 upstream on a bare socket: it keeps every request's bytes as received
    (no parser normalises them) and answers each with ``response_head`` and the pieces of
    ``response_body`` (sent one ``write`` each, ``Content-Length`` or chunked as the head
    says; a chunked head gets each piece as one chunk)."""

    requests: list[RawRequest] = field(default_factory=list)
    response_head: bytes = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n"
    )
    response_body: list[bytes] = field(default_factory=lambda: [b"{}"])
    server: asyncio.base_events.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        host, port = self.server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()

    def answer_stream(self, pieces: list[bytes]) -> None:
        """Answer with an SSE stream sent as ``pieces`` (chunked, one chunk each)."""
        self.response_head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        self.response_body = pieces

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                line, _, headers = head[:-4].partition(b"\r\n")
                request = RawRequest(line, headers, b"")
                length = request.header(b"content-length")
                if length is not None:
                    request.body = await reader.readexactly(int(length))
                elif (request.header(b"transfer-encoding") or b"").lower() == b"chunked":
                    request.body = await _read_chunked(reader)
                self.requests.append(request)
                await self._answer(writer)
        finally:
            writer.close()

    async def _answer(self, writer: asyncio.StreamWriter) -> None:
        writer.write(self.response_head)
        chunked = b"transfer-encoding: chunked" in self.response_head.lower()
        for piece in self.response_body:
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            await writer.drain()
        if chunked:
            writer.write(b"0\r\n\r\n")
        await writer.drain()


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n"))[:-2].split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)
