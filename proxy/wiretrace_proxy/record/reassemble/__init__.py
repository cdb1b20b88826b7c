"""Stream chunks -> what the app would have received without streaming.

docs/architecture.md, "The call record": a record's output is the response object the app
would have got with ``stream`` off. ``reassemble_stream`` is the recorder's entry point: it
parses the captured SSE bytes once, picks the reassembler from the endpoint kind (or, for
endpoints it does not know, from what the events look like), and returns a
``Reassembled``. It never raises on bad data: payloads that are not JSON are counted and
kept raw, shapes are checked before use, and anything that is neither chat, Responses nor
legacy completions is kept as a capped list of events.

One function per stream kind:

- ``reassemble_chat``: ``chat.completion`` (module ``chat``);
- ``reassemble_responses``: the final ``response`` object (module ``responses``);
- ``reassemble_completions``: legacy ``text_completion``;
- ``reassemble_generic``: ``{"events": [{"event", "data"}, ...]}`` for everything else
  (Assistants ``thread.run.*`` streams, unknown providers' events).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from wiretrace_proxy.callrecord import JSON, JSONObject
from wiretrace_proxy.endpoints import Endpoint
from wiretrace_proxy.record.reassemble.chat import merge_choice_stream, reassemble_chat
from wiretrace_proxy.record.reassemble.common import (
    EventTally,
    Reassembled,
    as_obj,
    as_str,
    error_object,
)
from wiretrace_proxy.record.reassemble.responses import reassemble_responses
from wiretrace_proxy.record.sse import SSEEvent, iter_events
from wiretrace_proxy.record.usage import normalise_usage

__all__ = [
    "MAX_GENERIC_EVENTS",
    "Reassembled",
    "reassemble_chat",
    "reassemble_completions",
    "reassemble_generic",
    "reassemble_responses",
    "reassemble_stream",
]

MAX_GENERIC_EVENTS = 1000
"""Events kept by ``reassemble_generic``; the rest are counted in ``omitted_events``."""
_SNIFF_EVENTS = 8


@dataclass(slots=True)
class _TextChoice:
    """One legacy completions choice: text pieces, merged ``logprobs`` lists, finish reason."""

    index: int
    text: list[str] = field(default_factory=list)
    logprobs: JSONObject | None = None
    finish_reason: str | None = None

    def add(self, choice: JSONObject) -> None:
        piece = choice.get("text")
        if isinstance(piece, str):
            self.text.append(piece)
        self.finish_reason = as_str(choice.get("finish_reason")) or self.finish_reason
        logprobs = as_obj(choice.get("logprobs"))
        if logprobs is None:
            return
        if self.logprobs is None:
            self.logprobs = {}
        for key, value in logprobs.items():
            current = self.logprobs.get(key)
            if isinstance(current, list) and isinstance(value, list):
                current.extend(value)
            else:
                self.logprobs[key] = list(value) if isinstance(value, list) else value

    def build(self) -> JSONObject:
        return {
            "text": "".join(self.text),
            "index": self.index,
            "logprobs": self.logprobs,
            "finish_reason": self.finish_reason,
        }


def reassemble_completions(events: Iterable[SSEEvent]) -> Reassembled:
    """Merge legacy ``/v1/completions`` chunks into one ``text_completion`` object."""
    return merge_choice_stream(events, "text_completion", _TextChoice)


def reassemble_generic(events: Iterable[SSEEvent]) -> Reassembled:
    """Keep the events themselves (data parsed when it is JSON), up to ``MAX_GENERIC_EVENTS``.

    For Assistants runs the usage and model of the last ``thread.run`` object are reported,
    a ``thread.run.failed`` run's ``last_error`` is the error, and ``event: done`` (or
    ``[DONE]``) marks the stream complete.
    """
    tally = EventTally()
    kept: list[JSON] = []
    omitted = 0
    usage: JSON = None
    model: str | None = None
    error: JSONObject | None = None
    done = False
    for event in events:
        tally.events += 1
        data = tally.load(event.data)
        data = "[DONE]" if data is None and event.data.strip() == "[DONE]" else data
        done = done or event.event == "done" or data == "[DONE]"
        if len(kept) < MAX_GENERIC_EVENTS:
            kept.append({"event": event.event, "data": data if data is not None else ""})
        else:
            omitted += 1
        if not isinstance(data, dict):
            continue
        if data.get("object") == "thread.run":
            usage = data.get("usage") if data.get("usage") is not None else usage
            model = as_str(data.get("model")) or model
            failure = as_obj(data.get("last_error"))
            error = failure if event.event == "thread.run.failed" and failure else error
        if event.event == "error":
            error = error_object(data)
    output: JSONObject = {"events": kept}
    if omitted:
        output["omitted_events"] = omitted
    return tally.result(output, normalise_usage(usage), model, error, done or tally.done)


def stream_kind(endpoint: Endpoint, events: list[SSEEvent]) -> str:
    """``chat``, ``responses``, ``completions`` or ``generic``: from the endpoint, else (for
    endpoints it does not know) from what the first events look like."""
    if endpoint is Endpoint.CHAT:
        return "chat"
    if endpoint is Endpoint.RESPONSES:
        return "responses"
    if endpoint is Endpoint.COMPLETIONS:
        return "completions"
    probe = EventTally()
    for name, data in probe.parse(events[:_SNIFF_EVENTS]):
        kind = as_str(data.get("type")) or name
        if kind.startswith("response."):
            return "responses"
        if data.get("object") == "chat.completion.chunk":
            return "chat"
        if data.get("object") == "text_completion":
            return "completions"
    return "generic"


_REASSEMBLERS = {
    "chat": reassemble_chat,
    "responses": reassemble_responses,
    "completions": reassemble_completions,
    "generic": reassemble_generic,
}


def reassemble_stream(endpoint: Endpoint, chunks: Iterable[bytes]) -> Reassembled:
    """Reassemble a captured SSE response body sent for ``endpoint``."""
    events = list(iter_events(chunks))
    return _REASSEMBLERS[stream_kind(endpoint, events)](events)
