"""What every stream reassembler shares: the result type and defensive JSON helpers.

Reassembly runs on recorded bytes from any upstream, so nothing here trusts a payload's
shape: every lookup checks its type, indexes are bounded (a garbage ``"index": 10**12`` must
not allocate), and a data line that is not a JSON object is counted and kept raw instead of
raising. Split out of ``reassemble`` so the per-endpoint modules can import it without a cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from wiretrace_proxy.callrecord import JSON, JSONObject, Usage
from wiretrace_proxy.jsonsafe import read_json
from wiretrace_proxy.record.sse import SSEEvent

MAX_INDEX = 4096
"""Largest choice / output / content index honoured; larger ones are treated as garbage."""
MAX_MALFORMED_KEPT = 20
"""Malformed data payloads kept raw (all are counted)."""
MAX_MALFORMED_CHARS = 4096
"""Characters kept of each malformed payload."""


@dataclass(slots=True)
class Reassembled:
    """A stream turned into what the app would have received without streaming."""

    output: JSONObject | None
    """``chat.completion`` / ``response`` / ``text_completion`` object, or an event list."""
    usage: Usage | None
    """Upstream usage, normalised; None when the stream carried none."""
    model: str | None
    """The model the upstream answered with."""
    error: JSONObject | None
    """A mid-stream error (``event: error``, ``{"error": ...}``, ``response.failed``)."""
    complete: bool
    """The stream reached its proper end: ``[DONE]`` or a ``finish_reason`` on every choice
    with no mid-stream error (chat, completions); a terminal ``response.completed`` /
    ``incomplete`` / ``failed`` event (Responses: a failed response is complete, with
    ``error`` set); ``event: done`` (Assistants)."""
    events: int
    """SSE events seen, ``[DONE]`` included."""
    malformed: int = 0
    """Data payloads that were not a JSON object (kept raw in ``raw_malformed``)."""
    raw_malformed: list[str] = field(default_factory=list)


@dataclass(slots=True)
class EventTally:
    """Parses event payloads and counts what was seen, for ``Reassembled``'s bookkeeping."""

    events: int = 0
    done: bool = False
    """A ``[DONE]`` data payload was seen."""
    malformed: int = 0
    raw_malformed: list[str] = field(default_factory=list)

    def parse(self, events: Iterable[SSEEvent]) -> Iterator[tuple[str, JSONObject]]:
        """Yield ``(event name, payload)`` for each event whose data is a JSON object."""
        for event in events:
            self.events += 1
            before = self.malformed
            value = self.load(event.data)
            if isinstance(value, dict):
                yield event.event, value
            elif value is not None and self.malformed == before:
                self.note_malformed(event.data)  # JSON, but not an object

    def load(self, data: str) -> JSON:
        """Parse one payload; ``[DONE]`` and empty data give None, bad JSON gives the text
        (counted as malformed)."""
        text = data.strip()
        if not text:
            return None
        if text == "[DONE]":
            self.done = True
            return None
        try:
            value: JSON = read_json(text)
        except (ValueError, RecursionError):
            self.note_malformed(data)
            return data
        return value

    def note_malformed(self, data: str) -> None:
        self.malformed += 1
        if len(self.raw_malformed) < MAX_MALFORMED_KEPT:
            self.raw_malformed.append(data[:MAX_MALFORMED_CHARS])

    def result(
        self,
        output: JSONObject | None,
        usage: Usage | None,
        model: str | None,
        error: JSONObject | None,
        complete: bool,
    ) -> Reassembled:
        return Reassembled(
            output, usage, model, error, complete, self.events, self.malformed, self.raw_malformed
        )


def as_int(value: JSON) -> int | None:
    """An index-like int (not a bool), or None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_index(value: JSON, default: int | None = None) -> int | None:
    """A list index within ``0..MAX_INDEX``; anything else gives ``default``."""
    index = as_int(value)
    return index if index is not None and 0 <= index <= MAX_INDEX else default


def as_str(value: JSON) -> str | None:
    return value if isinstance(value, str) else None


def as_obj(value: JSON) -> JSONObject | None:
    return value if isinstance(value, dict) else None


def slot(container: JSONObject, key: str, index: int) -> JSONObject:
    """``container[key][index]`` as a dict, creating the list and padding it as needed."""
    items = container.get(key)
    if not isinstance(items, list):
        items = []
        container[key] = items
    while len(items) <= index:
        items.append({})
    item = items[index]
    if not isinstance(item, dict):
        item = {}
        items[index] = item
    return item


def append_text(target: JSONObject, key: str, piece: JSON) -> None:
    """``target[key] += piece`` for strings (a non-string target is replaced)."""
    if isinstance(piece, str):
        current = target.get(key)
        target[key] = (current if isinstance(current, str) else "") + piece


def error_object(data: JSONObject) -> JSONObject:
    """The error carried by an error payload: its ``error`` object, or the payload itself."""
    inner = data.get("error")
    if isinstance(inner, dict):
        return inner
    if isinstance(inner, str):
        return {"message": inner}
    return {k: v for k, v in data.items() if k not in ("type", "sequence_number")} or data
