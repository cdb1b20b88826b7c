"""Usage always present: ask the upstream for usage, hide the extra from the client.

A chat or legacy completions stream carries token usage only when the request sets
``stream_options.include_usage``. When the app did not, the proxy adds it upstream
(``inject_include_usage``) and ``UsageChunkFilter`` takes back out of the stream what the
client did not ask for: the usage-only final chunk (``"choices": []`` with ``usage``) and the
``"usage":null`` member OpenAI then puts on every other chunk. The client receives the
bytes it would have received without the option; the capture keeps the upstream's bytes.

The filter runs on the request path, so it works on bytes: it only holds back the tail of an
event that has not ended yet (an SSE client cannot use a partial event anyway) and parses JSON
only for an event that looks like a usage-only chunk.
"""

from __future__ import annotations

import json
import re

_STREAM_OPTIONS = b'"stream_options":{"include_usage":true},'
_USAGE_NULL = re.compile(rb',\s*"usage"\s*:\s*null')
_EMPTY_CHOICES = re.compile(rb'"choices"\s*:\s*\[\s*\]')
_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


def inject_include_usage(body: bytes) -> bytes | None:
    """The body with ``stream_options.include_usage = true``, or None to leave it alone.

    Applies only to a JSON object with ``"stream": true`` that does not already ask for
    usage. When there is no ``stream_options`` the option is spliced in after the opening
    brace so every other byte of the app's request stays as it sent it.
    """
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(parsed, dict) or parsed.get("stream") is not True:
        return None
    options = parsed.get("stream_options")
    if options is None and "stream_options" not in parsed:
        start = body.index(b"{") + 1
        return body[:start] + _STREAM_OPTIONS + body[start:]
    if not isinstance(options, dict):
        return None
    if options.get("include_usage") is True:
        return None
    parsed["stream_options"] = {**options, "include_usage": True}
    return json.dumps(parsed, ensure_ascii=False, separators=(",", ":")).encode()


def is_usage_only(event: bytes) -> bool:
    """True for a ``data:`` event whose chunk has no choices and a usage object."""
    if b'"usage"' not in event or not _EMPTY_CHOICES.search(event):
        return False
    payload = b"".join(
        line[5:].lstrip(b" ") for line in event.splitlines() if line.startswith(b"data:")
    )
    try:
        chunk = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(chunk, dict) and chunk.get("choices") == [] and bool(chunk.get("usage"))


class UsageChunkFilter:
    """Removes what ``inject_include_usage`` added from a stream, event by event."""

    __slots__ = ("_tail",)

    def __init__(self) -> None:
        self._tail = b""

    def feed(self, chunk: bytes) -> bytes:
        """Bytes to send to the client now: every event completed by ``chunk``, filtered."""
        data = self._tail + chunk if self._tail else chunk
        out: list[bytes] = []
        pos = 0
        while (match := _EVENT_END.search(data, pos)) is not None:
            event = data[pos : match.end()]
            pos = match.end()
            if not is_usage_only(event):
                out.append(_USAGE_NULL.sub(b"", event) if b'"usage"' in event else event)
        self._tail = data[pos:]
        return b"".join(out)

    def flush(self) -> bytes:
        """Whatever is left when the upstream ends (an unterminated last event)."""
        tail, self._tail = self._tail, b""
        if not tail or is_usage_only(tail):
            return b""
        return _USAGE_NULL.sub(b"", tail)
