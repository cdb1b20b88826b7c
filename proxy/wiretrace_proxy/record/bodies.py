"""Request and response bodies as JSON values for a record (off the request path).

JSON bodies are parsed; anything else is kept as readable raw text (or a size note for
binary) so bad input is still recorded, never dropped; a parsed value is always valid JSON
(``jsonsafe``: non-finite numbers spelled as strings). Multipart uploads are summarised per
field (file parts by name, type and size) and embedding vectors by count and dimension.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from email.message import Message

from wiretrace_proxy import jsonsafe
from wiretrace_proxy.callrecord import JSON, JSONObject

RAW_TEXT_LIMIT = 256 * 1024
"""Characters of a non-JSON body kept as text in a record."""
_FIELD_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class ParsedBody:
    """A body as a record keeps it (see ``parse_body``)."""

    value: JSON
    verbatim: bool
    """``value`` is ``json.loads(data)`` itself: every string in it was read from ``data``."""
    nonfinite: bool = False
    """A ``NaN``/``Infinity``/``-Infinity`` in the body was spelled as its string."""


def parse_body(data: bytes, content_type: str, *, size: int, truncated: bool) -> ParsedBody:
    """A body as JSON: the parsed value, or a ``{"raw": ...}`` note that loses nothing
    useful (with ``parse_error`` when it looked like JSON and did not parse).

    The value is always valid JSON: a non-finite number (``NaN`` in a local model's
    logprobs) becomes the string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``
    (``jsonsafe``) and ``nonfinite`` says so. A body nested deeper than the parser can
    follow is kept raw with ``parse_error`` saying it is nested too deep.

    ``verbatim`` (why: the recorder can check the bytes for secrets in one scan,
    ``redact.redact_parsed``, instead of walking the value) holds only when every string of
    the value was read from ``data``: not for notes (raw text, multipart summaries) and not
    for a body whose non-finite numbers were spelled.
    """
    if not data and size == 0:
        return ParsedBody(None, True)
    lower = content_type.lower()
    if lower.startswith("multipart/form-data"):
        summary = summarise_multipart(data, content_type, size=size, truncated=truncated)
        return ParsedBody(summary, False)
    if not truncated and ("json" in lower or not lower or data[:1] in (b"{", b"[")):
        try:
            value, spelled = jsonsafe.loads(data)
        except RecursionError:
            return ParsedBody(_raw(data, lower, size, truncated, parse_error=_TOO_DEEP), False)
        except (ValueError, UnicodeDecodeError) as exc:
            return ParsedBody(_raw(data, lower, size, truncated, parse_error=str(exc)), False)
        return ParsedBody(value, not spelled, spelled)
    return ParsedBody(_raw(data, lower, size, truncated), False)


_TOO_DEEP = "nested too deep: more levels of arrays and objects than the JSON parser follows"


def parse_body_verbatim(
    data: bytes, content_type: str, *, size: int, truncated: bool
) -> tuple[JSON, bool]:
    """``parse_body`` as ``(value, verbatim)``."""
    body = parse_body(data, content_type, size=size, truncated=truncated)
    return body.value, body.verbatim


def _raw(
    data: bytes, content_type: str, size: int, truncated: bool, parse_error: str | None = None
) -> JSONObject:
    note: JSONObject = {"content_type": content_type or None, "bytes": size}
    if truncated:
        note["truncated"] = True
    if parse_error is not None:
        note["parse_error"] = parse_error
    if _is_text(content_type, data):
        text = data[:RAW_TEXT_LIMIT].decode("utf-8", errors="replace")
        note["raw"] = text
        if len(data) > RAW_TEXT_LIMIT:
            note["truncated"] = True
    else:
        note["raw"] = None
        note["binary"] = True
    return note


def _is_text(content_type: str, data: bytes) -> bool:
    if content_type.startswith(("text/", "application/json", "application/x-ndjson")):
        return True
    if any(t in content_type for t in ("json", "xml", "yaml", "x-www-form-urlencoded")):
        return True
    if content_type.startswith(("audio/", "image/", "video/", "application/octet-stream")):
        return False
    sample = data[:1024]
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(sample) - 3  # a character cut at the sample's end
    return b"\x00" not in sample


def summarise_multipart(
    data: bytes, content_type: str, *, size: int, truncated: bool
) -> JSONObject:
    """Text fields with their values, file fields with filename, type and bytes seen."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    fields: JSONObject = {}
    files: list[JSON] = []
    if match is not None:
        delimiter = b"--" + match.group(1).encode("latin-1")
        for part in data.split(delimiter)[1:]:
            _read_part(part, fields, files)
    summary: JSONObject = {"content_type": "multipart/form-data", "bytes": size, "fields": fields}
    summary["files"] = files
    if truncated:
        summary["truncated"] = True
    return summary


def _read_part(part: bytes, fields: JSONObject, files: list[JSON]) -> None:
    head, sep, body = part.partition(b"\r\n\r\n")
    if not sep:
        return
    message = Message()
    for line in head.decode("latin-1").strip().splitlines():
        name, _, value = line.partition(":")
        message[name.strip()] = value.strip()
    disposition = message.get("Content-Disposition", "")
    if not disposition:
        return
    name = _param(message, "name") or ""
    filename = _param(message, "filename")
    body = body.removesuffix(b"\r\n")
    if filename is not None:
        files.append({"field": str(name), "filename": str(filename), "bytes_seen": len(body)})
    else:
        fields[str(name)] = body[:_FIELD_LIMIT].decode("utf-8", errors="replace")


def _param(message: Message, key: str) -> str | None:
    value = message.get_param(key, header="Content-Disposition")
    if isinstance(value, tuple):  # RFC 2231 encoded: (charset, language, value)
        return value[2]
    return value


def summarise_embeddings(output: JSON) -> JSON:
    """Replace each vector by its dimension (base64 vectors by their encoded length)."""
    if not isinstance(output, dict) or not isinstance(output.get("data"), list):
        return output
    data = output["data"]
    assert isinstance(data, list)
    dims: list[JSON] = []
    for item in data:
        vector = item.get("embedding") if isinstance(item, dict) else None
        dims.append(len(vector) if isinstance(vector, list | str) else None)
    summary = {k: v for k, v in output.items() if k != "data"}
    summary["embeddings"] = {
        "count": len(data),
        "dimensions": dims[0] if dims and all(d == dims[0] for d in dims) else dims,
        "stored": False,
    }
    return summary


def decode_content(data: bytes, encoding: str) -> bytes | None:
    """Undo ``Content-Encoding`` (the proxy forwards bodies compressed, as sent).

    Returns None when the coding is unknown or the data is cut or corrupt; a truncated gzip
    body still yields what decompresses.
    """
    codings = [c.strip().lower() for c in encoding.split(",") if c.strip()]
    for coding in reversed(codings):
        if coding == "identity":
            continue
        if coding in ("gzip", "x-gzip", "deflate"):
            wbits = 16 + zlib.MAX_WBITS if coding != "deflate" else zlib.MAX_WBITS
            try:
                data = zlib.decompressobj(wbits).decompress(data)
            except zlib.error:
                if coding != "deflate":
                    return None
                try:
                    data = zlib.decompressobj(-zlib.MAX_WBITS).decompress(data)
                except zlib.error:
                    return None
        elif coding == "br":
            try:
                import brotli  # type: ignore[import-not-found]  # optional, as in aiohttp
            except ImportError:
                return None
            try:
                data = brotli.decompress(data)
            except brotli.error:
                return None
        else:
            return None
    return data
