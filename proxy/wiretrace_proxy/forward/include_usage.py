"""Usage always present: ask the upstream for usage, hide the extra from the client.

A chat or legacy completions stream carries token usage only when the request sets
``stream_options.include_usage``. When the app did not, the proxy adds it upstream
(``inject_include_usage``) and ``UsageChunkFilter`` takes back out of the stream what the
client did not ask for: the usage-only final chunk (``"choices": []`` with ``usage``) and the
``"usage":null`` member OpenAI then puts on every other chunk. The client receives the
bytes it would have received without the option; the capture keeps the upstream's bytes.

Anything the proxy cannot read within its limits is left alone: a body that is not a JSON
object, nests too deep or is too big gets no option and goes upstream as sent (the recorder
then estimates usage).

The filter runs on the request path, so it works on bytes and its work is linear in the
bytes seen: each chunk is searched once for the end of an event (plus three bytes of overlap
with the previous one, for a delimiter split across chunks); only the current, unfinished
event is held back, and only up to ``HOLD_LIMIT``. An event bigger than that cannot be the
usage-only chunk, so it is passed through as it arrives (less any ``"usage":null``), keeping
back only the few bytes a ``"usage":null`` member split across chunks could need. JSON is
parsed only for a small event that looks like a usage-only chunk.
"""

from __future__ import annotations

import json
import re

INJECT_LIMIT = 8 * 1024 * 1024
"""Bodies bigger than this are never parsed on the request path: they go as sent."""
HOLD_LIMIT = 64 * 1024
"""An event longer than this is not a usage-only chunk: it is relayed as it arrives."""

_STREAM_OPTIONS = b'"stream_options":{"include_usage":true},'
_USAGE_NULL = re.compile(rb',\s*"usage"\s*:\s*null')
_USAGE_NULL_BOUNDED = re.compile(rb',[ \t\r\n]{0,8}"usage"[ \t\r\n]{0,8}:[ \t\r\n]{0,8}null')
"""``_USAGE_NULL`` for a passed-through event: bounded, so a match is at most ``_KEEP``
bytes long and a window of that many bytes is enough to see one split across chunks."""
_KEEP = 40
_EMPTY_CHOICES = re.compile(rb'"choices"\s*:\s*\[\s*\]')
_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_OVERLAP = 3
"""A delimiter is at most four bytes: three of them can sit at the end of the last chunk."""


def inject_include_usage(body: bytes | bytearray) -> bytes | None:
    """The body with ``stream_options.include_usage = true``, or None to leave it alone.

    Applies only to a JSON object with ``"stream": true`` that does not already ask for
    usage, no bigger than ``INJECT_LIMIT``. A body that does not parse (bad JSON, bad
    UTF-8, nested deeper than the interpreter's recursion limit) is left alone. When there
    is no ``stream_options`` the option is spliced in after the opening brace so every other
    byte of the app's request stays as it sent it.
    """
    if len(body) > INJECT_LIMIT:
        return None
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(parsed, dict) or parsed.get("stream") is not True:
        return None
    options = parsed.get("stream_options")
    if options is None and "stream_options" not in parsed:
        start = body.index(b"{") + 1
        view = memoryview(body)  # no copy of the body's two halves before the join
        return b"".join((view[:start], _STREAM_OPTIONS, view[start:]))
    if not isinstance(options, dict):
        return None
    if options.get("include_usage") is True:
        return None
    parsed["stream_options"] = {**options, "include_usage": True}
    try:
        return json.dumps(parsed, ensure_ascii=False, separators=(",", ":")).encode()
    except (ValueError, RecursionError):
        return None


def is_usage_only(event: bytes) -> bool:
    """True for a small ``data:`` event whose chunk has no choices and a usage object."""
    if len(event) > HOLD_LIMIT or b'"usage"' not in event or not _EMPTY_CHOICES.search(event):
        return False
    payload = b"".join(
        line[5:].lstrip(b" ") for line in event.splitlines() if line.startswith(b"data:")
    )
    try:
        chunk = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False
    return isinstance(chunk, dict) and chunk.get("choices") == [] and bool(chunk.get("usage"))


def _strip_usage_null(event: bytes) -> bytes:
    return _USAGE_NULL.sub(b"", event) if b'"usage"' in event else event


def _next_event_end(data: bytes, pos: int, has_cr: bool) -> int:
    """The end of the first event delimiter in ``data`` at or after ``pos``, or -1.

    Without a ``\r`` in ``data`` (what OpenAI sends) the only delimiter is ``\n\n``: found
    by hopping from one ``\n`` to the next (a ``memchr`` each, one per line), several times
    faster than a regular expression over every byte of a multi-megabyte event."""
    if has_cr:
        match = _EVENT_END.search(data, pos)
        return -1 if match is None else match.end()
    find = data.find
    while (i := find(b"\n", pos)) >= 0:
        if data.startswith(b"\n", i + 1):
            return i + 2
        pos = i + 1
    return -1


class UsageChunkFilter:
    """Removes what ``inject_include_usage`` added from a stream, event by event.

    Each byte fed is searched for an event end once (plus ``_OVERLAP`` bytes per chunk), and
    at most ``HOLD_LIMIT`` bytes of an unfinished event (plus the chunk that crossed it) are
    ever held back, whatever the events' sizes and however they are split.
    """

    __slots__ = ("_held", "_held_size", "_last", "_passing")

    def __init__(self) -> None:
        self._held: list[bytes] = []
        """The unfinished event so far (while ``_passing``: only its unsent last bytes)."""
        self._held_size = 0
        self._last = b""
        """The unfinished event's last ``_OVERLAP`` bytes (sent or not)."""
        self._passing = False
        """The current event outgrew ``HOLD_LIMIT`` and is being relayed as it arrives."""

    @property
    def held(self) -> int:
        """Bytes fed and not yet given back: the unsent end of the current event (always the
        last bytes fed, as received)."""
        return self._held_size

    def feed(self, chunk: bytes) -> bytes:
        """Bytes to send to the client now: every event completed by ``chunk``, filtered,
        and the settled part of an event too big to hold back."""
        if not chunk:
            return b""
        has_cr = b"\r" in chunk
        end = self._event_end(chunk, has_cr)
        if end < 0:
            return self._hold(chunk)
        out = [self._finish_event(chunk[:end])]
        pos = end
        while (end := _next_event_end(chunk, pos, has_cr)) >= 0:
            event = chunk[pos:end]
            pos = end
            if not is_usage_only(event):
                out.append(_strip_usage_null(event))
        if pos < len(chunk):
            out.append(self._hold(chunk[pos:]))
        return b"".join(out)

    def _event_end(self, chunk: bytes, has_cr: bool) -> int:
        """Where the current event ends in ``chunk`` (-1: not in it), looking at the bytes
        held before it only for a delimiter split across the two."""
        overlap = self._last
        if overlap:
            seam = _EVENT_END.search(overlap + chunk[:_OVERLAP])
            if seam is not None and seam.start() < len(overlap):
                return seam.end() - len(overlap)
        return _next_event_end(chunk, 0, has_cr)

    def flush(self) -> bytes:
        """Whatever is left when the upstream ends (an unterminated last event)."""
        tail = b"".join(self._held)
        passing = self._passing
        self._reset()
        if passing:
            return _USAGE_NULL_BOUNDED.sub(b"", tail)
        if not tail or is_usage_only(tail):
            return b""
        return _strip_usage_null(tail)

    def _reset(self) -> None:
        self._held, self._held_size, self._last, self._passing = [], 0, b"", False

    def _hold(self, data: bytes) -> bytes:
        """Keep ``data`` (no event end in it) as part of the current event; once that event
        is too big to be the usage-only chunk, release what is settled of it."""
        self._held.append(data)
        self._held_size += len(data)
        self._last = data[-_OVERLAP:] if len(data) >= _OVERLAP else (self._last + data)[-_OVERLAP:]
        if not self._passing and self._held_size <= HOLD_LIMIT:
            return b""
        self._passing = True
        if self._held_size <= 2 * _KEEP:
            return b""
        return self._release(b"".join(self._held) if len(self._held) > 1 else self._held[0])

    def _release(self, pending: bytes) -> bytes:
        """Send all of ``pending`` but its last ``_KEEP`` bytes, less ``"usage":null``
        members; a member that starts before the cut ends within ``pending`` (a match is
        shorter than ``_KEEP``), so it is removed whole and never split."""
        cut = len(pending) - _KEEP
        out: list[bytes] = []
        pos = 0
        for match in _USAGE_NULL_BOUNDED.finditer(pending):
            if match.start() >= cut:
                break
            out.append(pending[pos : match.start()])
            pos = match.end()
        cut = max(cut, pos)
        out.append(pending[pos:cut])
        rest = pending[cut:]
        self._held, self._held_size = ([rest], len(rest)) if rest else ([], 0)
        return b"".join(out)

    def _finish_event(self, last: bytes) -> bytes:
        """The current event, ended by ``last`` (its final bytes, delimiter included)."""
        held, passing = self._held, self._passing
        self._reset()
        event = b"".join((*held, last)) if held else last
        if passing:
            return _USAGE_NULL_BOUNDED.sub(b"", event)
        if is_usage_only(event):
            return b""
        return _strip_usage_null(event)
