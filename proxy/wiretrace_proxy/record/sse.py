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
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["SSEEvent", "iter_events"]

_EOL = re.compile(r"\r\n|\r|\n")
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
        if rest:
            yield from self._line(rest)
        if self._data:
            yield from self._line("")

    def _split(self, final: bool) -> Iterator[SSEEvent]:
        buf = "".join(self._pending)
        pos = 0
        for match in _EOL.finditer(buf):
            if not final and match.group() == "\r" and match.end() == len(buf):
                break  # may be the first half of "\r\n": wait for the next chunk
            yield from self._line(buf[pos : match.start()])
            pos = match.end()
        self._pending = [buf[pos:]] if pos < len(buf) else []

    def _line(self, line: str) -> Iterator[SSEEvent]:
        if not line:
            if self._data:
                yield SSEEvent(self._event or "message", "\n".join(self._data))
            self._data = []
            self._event = ""
            return
        if line.startswith(":"):
            return
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value


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
