"""Recorded OpenAI traffic (``tests/fixtures/openai``) as plain ``Interaction`` values.

The fixtures come from other projects' test suites, each in its recorder's own format
(``tests/fixtures/openai/SOURCES.md``). This module turns all of them into one shape so tests
and the fake upstream can replay real bytes without caring where they came from:

- vcrpy YAML (``interactions``): ``body.string`` text or ``!!binary`` bytes (gzip when the
  response says ``Content-Encoding: gzip``); pydantic-ai's serializer stores JSON bodies as a
  ``parsed_body`` mapping instead, re-serialised here as compact JSON; dd-trace-py's older
  httpx-style cassettes use ``content`` and ``status_code``;
- Ruby VCR YAML (``http_interactions``): same idea, bytes as ``!binary`` base64;
- openai-python ``.bin``: a raw SSE body alone (no request, no headers: a chat completions
  stream; the ``content-type`` header is supplied here);
- langchaingo ``httprr trace v1``: raw HTTP/1.1 request + response, length-prefixed;
- vercel-ai ``.chunks.txt``: one SSE data payload per line, prefixes stripped by the
  recorder; rebuilt here as ``data: <line>`` events, with ``event: <type>`` restored for
  payloads carrying a ``type`` (the Responses API always sends the two equal). The endpoint
  is read from the payloads, since the file has no request. No ``[DONE]`` is invented.

Recorded ``Content-Length`` headers may not match ``body`` (some recorders pretty-print JSON
bodies), so a replaying server should compute its own. Only PyYAML and the standard library
are used, so the fake upstream can import this freely.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import yaml

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openai"
"""Root of the copied fixtures; ``load`` paths are relative to it."""

Headers = list[tuple[str, str]]
_AZURE = re.compile(r"^/+openai/deployments/[^/]+/(.+)$")


@dataclass(frozen=True, slots=True)
class Interaction:
    """One recorded request and its response, bodies as bytes."""

    method: str
    """Upper case, e.g. ``POST``."""
    path: str
    """Path as recorded, e.g. ``/v1/chat/completions`` (Groq: ``/openai/v1/...``)."""
    request_body: bytes | None
    status: int
    headers: Headers
    """Response headers as recorded (names in the recorder's case; order kept)."""
    body: bytes
    """Response body, decompressed when the recording kept it compressed."""
    content_encoding: str | None = None
    """The recorded ``Content-Encoding`` (``body`` is already decoded; ``wire_body`` is not)."""
    wire_body: bytes = b""
    """The response body as it went over the wire (still compressed if it was)."""
    query: str = ""
    host: str = ""
    request_headers: Headers = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        """The OpenAI path this call maps to: from ``/v1/`` on (Groq ``/openai/v1/...``,
        OpenRouter ``/api/v1/...``), or ``/v1/<rest>`` for Azure deployment paths."""
        at = self.path.find("/v1/")
        if at >= 0:
            return self.path[at:]
        azure = _AZURE.match(self.path)
        return "/v1/" + azure.group(1) if azure else self.path

    @property
    def content_type(self) -> str:
        return header(self.headers, "content-type") or ""

    @property
    def is_stream(self) -> bool:
        """An SSE response (by content type, or by body for recorders that lost headers)."""
        if self.content_type.lower().startswith("text/event-stream"):
            return True
        head = self.body.lstrip()[:7]
        return self.status == 200 and head.startswith((b"data:", b"event:", b": "))


def header(headers: Headers, name: str) -> str | None:
    """First value of a header, case-insensitively."""
    lowered = name.lower()
    return next((v for k, v in headers if k.lower() == lowered), None)


def all_fixtures() -> list[Path]:
    """Every recorded-traffic file under ``FIXTURES`` (``SOURCES.md`` excluded), sorted."""
    suffixes = (".yaml", ".yml", ".bin", ".httprr", ".chunks.txt")
    return sorted(p for p in FIXTURES.rglob("*") if p.is_file() and p.name.endswith(suffixes))


def load(relative_path: str | Path) -> list[Interaction]:
    """All interactions of one fixture file, in recorded order."""
    path = Path(relative_path)
    if not path.is_absolute():
        path = FIXTURES / path
    name = path.name
    data = path.read_bytes()
    if name.endswith(".bin"):
        return [_bin(data)]
    if name.endswith(".chunks.txt"):
        return [_chunks(data)]
    if name.endswith(".httprr"):
        return _httprr(data)
    if name.endswith((".yaml", ".yml")):
        return _cassette(data)
    raise ValueError(f"unknown fixture format: {path}")


def decode_body(body: bytes, encoding: str | None) -> bytes:
    """Undo ``gzip``/``deflate``; anything else (or a body already plain) is returned as is."""
    enc = (encoding or "").strip().lower()
    if enc == "gzip" and body[:2] == b"\x1f\x8b":
        return gzip.decompress(body)
    if enc == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)
    return body


# --- formats without a request -------------------------------------------------------------

_SSE_HEADERS: Headers = [("content-type", "text/event-stream; charset=utf-8")]


def _bin(data: bytes) -> Interaction:
    return Interaction(
        "POST", "/v1/chat/completions", None, 200, list(_SSE_HEADERS), data, wire_body=data
    )


def _chunks(data: bytes) -> Interaction:
    events: list[bytes] = []
    path = "/v1/chat/completions"
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            payload = json.loads(line)
        except ValueError:
            payload = None
        kind = payload.get("type") if isinstance(payload, dict) else None
        if isinstance(payload, dict) and payload.get("object") == "text_completion":
            path = "/v1/completions"
        if isinstance(kind, str):
            path = "/v1/responses" if kind.startswith("response.") else path
            events.append(b"event: " + kind.encode() + b"\ndata: " + line + b"\n\n")
        else:
            events.append(b"data: " + line + b"\n\n")
    body = b"".join(events)
    return Interaction("POST", path, None, 200, list(_SSE_HEADERS), body, wire_body=body)


# --- vcrpy and Ruby VCR YAML ---------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads Ruby's ``!binary`` tag (base64, like ``!!binary``)."""


def _ruby_binary(loader: yaml.SafeLoader, node: yaml.Node) -> bytes:
    text = loader.construct_scalar(cast(yaml.ScalarNode, node))
    return base64.b64decode("".join(str(text).split()))


_Loader.add_constructor("!binary", _ruby_binary)


def _cassette(data: bytes) -> list[Interaction]:
    doc = yaml.load(data, Loader=_Loader)  # a SafeLoader subclass: no arbitrary objects
    if not isinstance(doc, dict):
        raise ValueError("not a VCR cassette")
    items = doc.get("interactions") or doc.get("http_interactions") or []
    return [_interaction(item) for item in items]


def _interaction(item: dict[str, Any]) -> Interaction:
    request, response = item["request"], item["response"]
    url = urlsplit(str(request["uri"]))
    headers = _yaml_headers(response.get("headers"))
    encoding = header(headers, "content-encoding")
    wire = _yaml_body(response)
    status = response["status"] if "status" in response else response["status_code"]
    return Interaction(
        method=str(request["method"]).upper(),
        path=url.path,
        request_body=_yaml_body(request) or None,
        status=int(status["code"] if isinstance(status, dict) else status),
        headers=headers,
        body=decode_body(wire, encoding),
        content_encoding=encoding,
        wire_body=wire,
        query=url.query,
        host=url.netloc,
        request_headers=_yaml_headers(request.get("headers")),
    )


def _yaml_body(part: dict[str, Any]) -> bytes:
    """A body from vcrpy (``body: str``, ``body: {string: ...}``, ``parsed_body``) or Ruby VCR."""
    if "parsed_body" in part:
        return json.dumps(part["parsed_body"], separators=(",", ":"), ensure_ascii=False).encode()
    body = part.get("body", part.get("content"))  # ``content``: vcrpy's httpx-style serializer
    if isinstance(body, dict):
        body = body.get("string")
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    return str(body).encode("utf-8")


def _yaml_headers(raw: object) -> Headers:
    if not isinstance(raw, dict):
        return []
    out: Headers = []
    for name, values in raw.items():
        for value in values if isinstance(values, list) else [values]:
            out.append((str(name), str(value)))
    return out


# --- langchaingo httprr --------------------------------------------------------------------

_HTTPRR_MAGIC = b"httprr trace v1\n"


def _httprr(data: bytes) -> list[Interaction]:
    """``httprr trace v1``: records of ``"<req len> <resp len>\\n"`` + request + response."""
    if not data.startswith(_HTTPRR_MAGIC):
        raise ValueError("not an httprr trace")
    pos = len(_HTTPRR_MAGIC)
    out: list[Interaction] = []
    while pos < len(data):
        eol = data.index(b"\n", pos)
        req_len, resp_len = (int(n) for n in data[pos:eol].split())
        req = data[eol + 1 : eol + 1 + req_len]
        resp = data[eol + 1 + req_len : eol + 1 + req_len + resp_len]
        pos = eol + 1 + req_len + resp_len
        out.append(_httprr_pair(req, resp))
    return out


def _httprr_pair(req: bytes, resp: bytes) -> Interaction:
    req_line, req_headers, req_body = _split_message(req)
    method, target, _ = req_line.split(" ", 2)
    url = urlsplit(target)
    status_line, headers, wire = _split_message(resp)
    if (header(headers, "transfer-encoding") or "").lower() == "chunked":
        wire = _dechunk(wire)
    encoding = header(headers, "content-encoding")
    return Interaction(
        method=method.upper(),
        path=url.path,
        request_body=req_body or None,
        status=int(status_line.split(" ", 2)[1]),
        headers=headers,
        body=decode_body(wire, encoding),
        content_encoding=encoding,
        wire_body=wire,
        query=url.query,
        host=url.netloc or (header(req_headers, "host") or ""),
        request_headers=req_headers,
    )


def _split_message(raw: bytes) -> tuple[str, Headers, bytes]:
    """Start line, headers and body of an HTTP/1.x message (CRLF or bare LF line ends)."""
    sep = raw.find(b"\r\n\r\n")
    head, body = (raw[:sep], raw[sep + 4 :]) if sep >= 0 else raw.split(b"\n\n", 1)
    lines = head.decode("latin-1").replace("\r\n", "\n").split("\n")
    headers: Headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return lines[0], headers, body


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    pos = 0
    while pos < len(body):
        eol = body.index(b"\r\n", pos)
        size = int(body[pos:eol].split(b";")[0], 16)
        if size == 0:
            break
        out += body[eol + 2 : eol + 2 + size]
        pos = eol + 2 + size + 2
    return bytes(out)
