"""Server-sent events: response body chunks -> ``SSEEvent`` values, incrementally.

The recorder feeds a stream's captured body through ``iter_events`` off the request path (as
one joined chunk today; the parser takes any split). Chunks may be cut wherever the network
cut them: mid-line, inside a UTF-8 character, or between the ``\\r`` and ``\\n`` of a line
ending. This is a small incremental parser that follows the WHATWG "event stream
interpretation" (html.spec.whatwg.org, server-sent events, 9.2.6), with one deliberate
difference: a final event cut off without its blank line is still yielded, because a
recorder wants the last words of a broken stream, not the browser's "discard it".

Why not ``sseclient-py`` (which the project otherwise prefers)? It stitches split chunks
correctly, but ``tests/proxy/record/test_sse.py::test_sseclient_py_fails_where_we_must_not``
records three inputs where 1.9.0 goes wrong and we must not:

- an invalid UTF-8 byte raises ``UnicodeDecodeError`` from ``events()`` (the spec decodes with
  replacement; a recorder must survive any bytes);
- mixed line endings (``\\n`` then a ``\\r\\n`` blank line, or ``\\r\\n`` then a ``\\r`` blank
  line) are not seen as event boundaries, so two events are merged into one;
- a leading byte order mark turns the first field name into ``\\ufeffdata`` and the first
  event is dropped.

It is also quadratic on events made of many lines. The parser below is as short as a wrapper
that would patch those, and ``test_sse.py`` checks it against ``sseclient-py`` on every fixture
(random chunk splits), where both must agree.

Only ``event`` and ``data`` are kept: ``id`` and ``retry`` steer browser reconnection, which
a recording never does. Comment lines (``: keep-alive``) are skipped.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["SSEEvent", "iter_events"]

_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event."""

    event: str
    """The ``event:`` field, or ``"message"`` when the event had none."""
    data: str
    """The ``data:`` lines joined with ``\\n`` (a single leading space of each value removed)."""


class _Parser:
    """WHATWG line and field handling over already-decoded text."""

    def __init__(self) -> None:
        self._pending: list[str] = []
        """Text after the last line ending (kept as pieces: joining per chunk is quadratic)."""
        self._data: list[str] = []
        self._event = ""

    def feed(self, text: str) -> Iterator[SSEEvent]:
        self._pending.append(text)
        if "\r" in text or "\n" in text:
            yield from self._split(final=False)

    def close(self) -> Iterator[SSEEvent]:
        """End of stream: finish a last unterminated line, then yield a truncated event."""
        yield from self._split(final=True)
        rest = "".join(self._pending)
        self._pending = []
        events: list[SSEEvent] = []
        if rest:
            self._lines([rest], events)
        if self._data:
            self._lines([""], events)
        yield from events

    def _split(self, final: bool) -> list[SSEEvent]:
        """The events of the complete lines pending. One ``str.split`` (line endings made
        ``\n`` first), not a regex match per line; a ``\r`` that ends the text may be the
        first half of ``\r\n``, so it waits for the next chunk unless this is the end."""
        buf = "".join(self._pending)
        held = ""
        if not final and buf.endswith("\r"):
            buf, held = buf[:-1], "\r"
        if "\r" in buf:
            buf = buf.replace("\r\n", "\n").replace("\r", "\n")
        lines = buf.split("\n")
        rest = lines.pop() + held
        self._pending = [rest] if rest else []
        events: list[SSEEvent] = []
        self._lines(lines, events)
        return events

    def _lines(self, lines: list[str], events: list[SSEEvent]) -> None:
        """Interpret whole lines (WHATWG 9.2.6), appending each dispatched event."""
        data, event = self._data, self._event
        for line in lines:
            if line.startswith("data:"):
                data.append(line[6:] if line.startswith("data: ") else line[5:])
            elif not line:
                if data:
                    events.append(SSEEvent(event or "message", "\n".join(data)))
                    data = []
                event = ""
            elif not line.startswith(":"):
                name, colon, value = line.partition(":")
                if colon and value.startswith(" "):
                    value = value[1:]
                if name == "data":
                    data.append(value)
                elif name == "event":
                    event = value
        self._data, self._event = data, event


def iter_events(chunks: Iterable[bytes]) -> Iterator[SSEEvent]:
    """Parse a byte stream cut into arbitrary chunks into events, lazily.

    Never raises on the bytes themselves: invalid UTF-8 becomes U+FFFD, unknown fields and
    garbage lines are ignored as the spec says.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    parser = _Parser()
    started = False
    for chunk in chunks:
        text = decoder.decode(chunk)
        if not started and text:
            started = True
            text = text.removeprefix(_BOM)
        if text:
            yield from parser.feed(text)
    tail = decoder.decode(b"", final=True)
    if tail:
        yield from parser.feed(tail.removeprefix(_BOM) if not started else tail)
    yield from parser.close()
