"""An OTLP request body under a byte cap, decompressed (gzip, deflate) under the same cap.

Why count while decompressing: a few kilobytes of gzip can inflate to gigabytes, so a cap
checked after ``gzip.decompress`` would already have spent the memory. The body is
inflated in steps of at most ``limit + 1`` bytes and refused as soon as it passes the cap
(the specification recommends 64 MiB after decompression, with a 413 above it).

aiohttp's server already inflates a request body whose ``Content-Encoding`` it knows
(in bounded steps, so the capped read in the handler counts inflated bytes), yet leaves the
header in place. So a body is inflated here only if it does not already look like an
export: an ``ExportTraceServiceRequest`` starts with its field 1 (``0x0a``) and OTLP/JSON
with ``{``; a compressed stream starts with neither (gzip ``1f 8b``, zlib ``78``).
"""

from __future__ import annotations

import zlib

__all__ = ["MAX_BODY", "BodyTooLarge", "UnsupportedEncoding", "decompress"]

MAX_BODY = 64 * 1024 * 1024
"""Bytes an OTLP request may have, compressed and decompressed alike."""

_STEP = 1024 * 1024


class BodyTooLarge(ValueError):
    """The body, decompressed, is over the cap."""


class UnsupportedEncoding(ValueError):
    """A ``Content-Encoding`` other than identity, gzip or deflate, or a corrupt stream."""


def decompress(raw: bytes, encoding: str, limit: int = MAX_BODY) -> bytes:
    """``raw`` decoded per ``Content-Encoding``; ``BodyTooLarge`` past ``limit`` bytes."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity") or _decoded(raw):
        if len(raw) > limit:
            raise BodyTooLarge(f"body larger than {limit} bytes")
        return raw
    if encoding in ("gzip", "x-gzip"):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        inflater = zlib.decompressobj(zlib.MAX_WBITS if raw[:1] == b"\x78" else -zlib.MAX_WBITS)
    else:
        raise UnsupportedEncoding(f"Content-Encoding {encoding!r} is not supported (use gzip)")
    return _inflate(inflater, raw, limit, encoding)


def _decoded(raw: bytes) -> bool:
    """Whether ``raw`` is already an export, protobuf or JSON (see the module docstring)."""
    head = raw.lstrip()[:1]
    return not raw or raw[:1] == b"\x0a" or head in (b"{", b"[")


def _inflate(inflater: zlib._Decompress, raw: bytes, limit: int, encoding: str) -> bytes:
    out = bytearray()
    pending = raw
    try:
        while pending or not inflater.eof:
            chunk = inflater.decompress(pending, min(_STEP, limit + 1 - len(out)))
            out += chunk
            if len(out) > limit:
                raise BodyTooLarge(f"body larger than {limit} bytes once decompressed")
            pending = inflater.unconsumed_tail
            if not chunk and not pending:
                break
    except zlib.error as exc:
        raise UnsupportedEncoding(f"body is not valid {encoding}: {exc}") from None
    if not inflater.eof:
        raise UnsupportedEncoding(f"body is not valid {encoding}: the stream is truncated")
    return bytes(out)
