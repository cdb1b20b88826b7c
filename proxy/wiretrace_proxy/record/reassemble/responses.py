"""Responses API stream -> the final ``response`` object, as the API sent it.

A Responses stream already ends with the whole answer: ``response.completed`` (or
``response.incomplete`` / ``response.failed``) carries the complete ``response`` object, and
that object is the record's output untouched, nothing added.

Only when the stream was cut before that event is anything rebuilt: the last
``response.created`` / ``response.in_progress`` snapshot, with ``output`` made from the items
seen (``output_item.done`` items as sent, unfinished ones from ``output_item.added`` plus their
text, refusal, arguments and reasoning-summary deltas) and ``status`` set to ``"incomplete"``.
Events are keyed on the payload's ``type``, which the API always sends and which equals the
SSE event name, so streams recorded without event names reassemble the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from wiretrace_proxy.callrecord import JSONObject
from wiretrace_proxy.record.reassemble.common import (
    EventTally,
    Reassembled,
    append_text,
    as_index,
    as_obj,
    as_str,
    error_object,
    slot,
)
from wiretrace_proxy.record.sse import SSEEvent
from wiretrace_proxy.record.usage import normalise_usage

__all__ = ["reassemble_responses"]

_SNAPSHOTS = frozenset({"response.created", "response.in_progress", "response.queued"})
_FINALS = frozenset({"response.completed", "response.incomplete", "response.failed"})

_TEXT_DELTAS: dict[str, tuple[str, str, str]] = {
    # event type: (list key in the item, field in the part, payload field)
    "response.output_text.delta": ("content", "text", "delta"),
    "response.refusal.delta": ("content", "refusal", "delta"),
    "response.reasoning_text.delta": ("content", "text", "delta"),
    "response.reasoning_summary_text.delta": ("summary", "text", "delta"),
}
_TEXT_DONES: dict[str, tuple[str, str, str]] = {
    "response.output_text.done": ("content", "text", "text"),
    "response.refusal.done": ("content", "refusal", "refusal"),
    "response.reasoning_text.done": ("content", "text", "text"),
    "response.reasoning_summary_text.done": ("summary", "text", "text"),
}
_PART_EVENTS: dict[str, str] = {
    "response.content_part.added": "content",
    "response.content_part.done": "content",
    "response.reasoning_summary_part.added": "summary",
    "response.reasoning_summary_part.done": "summary",
}
_ITEM_DELTAS: dict[str, str] = {
    # event type: item field the delta (or the done payload's same-named field) builds
    "response.function_call_arguments.delta": "arguments",
    "response.custom_tool_call_input.delta": "input",
    "response.code_interpreter_call_code.delta": "code",
}
_ITEM_DONES: dict[str, tuple[str, str]] = {
    "response.function_call_arguments.done": ("arguments", "arguments"),
    "response.custom_tool_call_input.done": ("input", "input"),
    "response.code_interpreter_call_code.done": ("code", "code"),
}
_ANNOTATION = "response.output_text.annotation.added"
_HANDLED = frozenset(
    {*_TEXT_DELTAS, *_TEXT_DONES, *_PART_EVENTS, *_ITEM_DELTAS, *_ITEM_DONES, _ANNOTATION}
)


@dataclass(slots=True)
class _ResponseState:
    snapshot: JSONObject | None = None
    final: JSONObject | None = None
    items: dict[int, JSONObject] = field(default_factory=dict)
    error: JSONObject | None = None

    def add(self, event: str, data: JSONObject) -> None:
        kind = as_str(data.get("type")) or event
        response = as_obj(data.get("response"))
        if kind in _FINALS and response is not None:
            self.final = response
            failure = as_obj(response.get("error"))
            if kind == "response.failed" and failure is not None:
                self.error = failure
        elif kind in _SNAPSHOTS and response is not None:
            self.snapshot = response
        elif kind == "error" or event == "error":
            self.error = error_object(data)
        elif kind.startswith("response.output_item."):
            self._item_event(data)
        else:
            self._delta_event(kind, data)

    def _item_event(self, data: JSONObject) -> None:
        index = as_index(data.get("output_index"))
        item = as_obj(data.get("item"))
        if index is not None and item is not None:
            self.items[index] = item

    def _delta_event(self, kind: str, data: JSONObject) -> None:
        index = as_index(data.get("output_index"))
        if index is None or kind not in _HANDLED:
            return
        item = self.items.setdefault(index, {})
        if kind in _PART_EVENTS:
            part = as_obj(data.get("part"))
            sub = as_index(data.get("content_index", data.get("summary_index")))
            if part is not None and sub is not None:
                slot(item, _PART_EVENTS[kind], sub).update(part)
        elif kind in _TEXT_DELTAS or kind in _TEXT_DONES:
            self._text_event(kind, item, data)
        elif kind in _ITEM_DELTAS:
            append_text(item, _ITEM_DELTAS[kind], data.get("delta"))
        elif kind in _ITEM_DONES:
            target, source = _ITEM_DONES[kind]
            if isinstance(data.get(source), str):
                item[target] = data[source]
        elif kind == _ANNOTATION:
            part = slot(item, "content", as_index(data.get("content_index")) or 0)
            annotations = part.setdefault("annotations", [])
            if isinstance(annotations, list) and data.get("annotation") is not None:
                annotations.append(data["annotation"])

    def _text_event(self, kind: str, item: JSONObject, data: JSONObject) -> None:
        is_delta = kind in _TEXT_DELTAS
        list_key, part_field, source = (_TEXT_DELTAS if is_delta else _TEXT_DONES)[kind]
        sub_key = "summary_index" if list_key == "summary" else "content_index"
        part = slot(item, list_key, as_index(data.get(sub_key)) or 0)
        if not is_delta:
            if isinstance(data.get(source), str):
                part[part_field] = data[source]
            return
        append_text(part, part_field, data.get(source))
        logprobs = data.get("logprobs")
        if isinstance(logprobs, list) and logprobs:
            kept = part.setdefault("logprobs", [])
            if isinstance(kept, list):
                kept.extend(logprobs)

    def partial(self) -> JSONObject | None:
        """The best response object from a stream cut before its final event."""
        if self.snapshot is None and not self.items:
            return None
        out: JSONObject = dict(self.snapshot or {"object": "response"})
        out["status"] = "incomplete"
        out["output"] = [self.items[i] for i in sorted(self.items)]
        return out


def reassemble_responses(events: Iterable[SSEEvent]) -> Reassembled:
    """The final ``response`` object of a Responses stream (rebuilt if the stream was cut)."""
    tally = EventTally()
    state = _ResponseState()
    for name, data in tally.parse(events):
        state.add(name, data)
    output = state.final if state.final is not None else state.partial()
    return tally.result(
        output=output,
        usage=normalise_usage(output.get("usage")) if output else None,
        model=as_str(output.get("model")) if output else None,
        error=state.error,
        complete=state.final is not None,
    )
