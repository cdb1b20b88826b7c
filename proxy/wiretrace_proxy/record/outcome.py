"""A cancelled call whose client already had the whole response is not cancelled.

A client may close its connection as soon as it has read a response's end: the sync
``openai`` client does so on ``data: [DONE]``, often before the upstream ends its body.
The server then cancels the handler and the capture says ``cancelled``, although the app got
every byte it wanted. The request path only counts what it handed to the client
(``Capture.delivered_size``) and notes the upstream's end of body
(``Capture.upstream_ended``); the judgement is made here, on the writer thread. The client
had the response's end when it was handed:

- the whole body, after the upstream's end of body (or all of its ``Content-Length``); or,
- for a stream, an end among the delivered events: ``data: [DONE]``, a terminal Responses
  event (``response.completed``, ``response.failed``, ``response.incomplete``), an
  Assistants ``event: done``, or a finish reason on every choice.

The recorder then judges such a call as a finished one (``ok``, or what the HTTP status and
the stream's own error say) and marks it ``attributes.client_closed_after_end``; a stream
cut before its end stays ``cancelled``, with its partial output.
"""

from __future__ import annotations

import json
import re

from wiretrace_proxy.endpoints import Endpoint
from wiretrace_proxy.forward.capture import Capture
from wiretrace_proxy.record.bodies import decode_content
from wiretrace_proxy.record.reassemble import reassemble_stream
from wiretrace_proxy.record.sse import SSEEvent, iter_events

__all__ = ["CLOSED_AFTER_END", "closed_after_end", "delivered_stream", "stream_ended"]

CLOSED_AFTER_END = "client_closed_after_end"
"""The attribute (``true``) of a record whose client closed after the response's end."""

_TERMINAL_TYPES = frozenset({"response.completed", "response.failed", "response.incomplete"})
_TERMINAL_EVENTS = _TERMINAL_TYPES | {"done"}
_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


def closed_after_end(capture: Capture, stream_complete: bool) -> bool:
    """True for a ``cancelled`` capture whose client had been handed the response's end.

    ``stream_complete`` is the recorder's reading of the whole kept stream
    (``Reassembled.complete``), reused when the client was handed all of it; only a stream
    delivered in part is parsed again (its delivered part).
    """
    if capture.outcome != "cancelled" or capture.status is None:
        return False
    whole = capture.delivered_size >= capture.response_size
    if whole and (capture.upstream_ended or _length_reached(capture)):
        return True
    if not _header(capture, "content-type").lower().startswith("text/event-stream"):
        return False
    if whole and stream_complete:
        return True
    parts = delivered_stream(capture)
    return parts is not None and stream_ended(capture.endpoint, parts)


def stream_ended(endpoint: Endpoint, parts: list[bytes]) -> bool:
    """The SSE bytes ``parts`` hold a stream's end (an end event, or every choice finished).

    An end event counts even after a mid-stream error: that stream ended too (its record
    says ``error``)."""
    if any(_is_end_event(event) for event in iter_events(parts)):
        return True
    return reassemble_stream(endpoint, parts).complete


def delivered_stream(capture: Capture) -> list[bytes] | None:
    """The kept bytes of the stream's part the client was handed, ready to parse (as the
    recorder joins a head and a tail over the cap); None when they cannot be told (a
    compressed stream over the cap)."""
    head = capture.body
    delivered = capture.delivered_size
    encoding = _header(capture, "content-encoding")
    if encoding:
        if capture.response_truncated:
            return None
        decoded = decode_content(head[:delivered], encoding)  # a cut gzip still decodes
        return None if decoded is None else [decoded]
    if delivered <= len(head):
        return [head[:delivered]]
    tail_start = capture.response_size - capture.tail_size
    if delivered <= tail_start:  # the delivered part ends in the bytes not kept
        return [head]
    tail = b"".join(capture.tail)[: delivered - tail_start]
    end = _EVENT_END.search(tail)
    if end is None:
        return [head]
    return [head, b"\n\n", tail[end.end() :]]


def _is_end_event(event: SSEEvent) -> bool:
    if event.event in _TERMINAL_EVENTS:
        return True
    data = event.data.strip()
    if data == "[DONE]":
        return True
    if '"response.' not in data:  # only a Responses event can be one: parse no other
        return False
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return False
    kind = value.get("type") if isinstance(value, dict) else None
    return isinstance(kind, str) and kind in _TERMINAL_TYPES


def _length_reached(capture: Capture) -> bool:
    """The client was handed every byte the upstream's ``Content-Length`` announced."""
    length = _header(capture, "content-length").strip()
    return length.isascii() and length.isdigit() and capture.delivered_size >= int(length)


def _header(capture: Capture, name: str) -> str:
    for key, value in capture.response_headers:
        if key.lower() == name:
            return value
    return ""
