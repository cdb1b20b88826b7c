"""Chat completions stream -> the ``chat.completion`` object a non-streamed call returns.

Chunks are merged the way the openai SDK's stream accumulator merges them (strings
concatenated, tool calls joined by their ``index``), with a few deliberate differences for
what real upstreams send:

- ``id``/``type`` of a tool call keep their first value: an upstream that repeats them on
  every fragment must not produce ``call_abccall_abc``;
- choices are keyed by ``index`` and emitted sorted, so ``n>1`` streams that interleave
  choices come out separate;
- ``usage`` is taken from whichever chunk carries it: the usage-only final chunk
  (``choices: []``) OpenAI sends, or a chunk that still has choices (Groq, OpenRouter);
- provider extras are kept (Azure ``prompt_filter_results`` / ``content_filter_results``,
  Groq ``x_groq``, ``delta.reasoning``), ``obfuscation`` padding is dropped;
- ``content``/``refusal`` stay None unless some delta carried a string for them, matching a
  non-streamed message (tool calls have ``content: null``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from wiretrace_proxy.callrecord import JSON, JSONObject
from wiretrace_proxy.record.reassemble.common import (
    EventTally,
    Reassembled,
    as_index,
    as_int,
    as_obj,
    as_str,
    error_object,
)
from wiretrace_proxy.record.sse import SSEEvent
from wiretrace_proxy.record.usage import normalise_usage

__all__ = ["ChoiceBuilder", "merge_choice_stream", "merge_value", "reassemble_chat"]

_FIRST_KEYS = ("id", "created", "model")
"""Top-level fields whose first non-empty value wins (Azure opens with empty id/model)."""
_LAST_KEYS = ("system_fingerprint", "service_tier")
"""Top-level fields whose last non-null value wins; emitted only if some chunk had them."""
_SKIP_KEYS = frozenset(
    {*_FIRST_KEYS, *_LAST_KEYS, "object", "choices", "usage", "obfuscation", "error"}
)
_KEEP_FIRST = frozenset({"id", "type", "index", "role", "expires_at"})
"""Keys of extra delta objects (``audio`` ...) that identify rather than accumulate."""


def merge_value(target: JSONObject, key: str, value: JSON) -> None:
    """Accumulate one delta field into ``target`` like the SDK's ``accumulate_delta``."""
    current = target.get(key)
    if value is None:
        target.setdefault(key, None)
    elif current is None:
        target[key] = value
    elif key in _KEEP_FIRST:
        return
    elif isinstance(current, str) and isinstance(value, str):
        target[key] = current + value
    elif isinstance(current, list) and isinstance(value, list):
        current.extend(value)
    elif isinstance(current, dict) and isinstance(value, dict):
        for sub_key, sub_value in value.items():
            merge_value(current, sub_key, sub_value)
    else:
        target[key] = value


@dataclass(slots=True)
class _ToolCall:
    id: str | None = None
    type: str | None = None
    parts: dict[str, JSONObject] = field(default_factory=dict)
    """``{"function": {"name": ..., "arguments": ...}}`` (or ``custom``), merged fragments."""

    def add(self, fragment: JSONObject) -> None:
        self.id = self.id or as_str(fragment.get("id")) or None
        self.type = self.type or as_str(fragment.get("type")) or None
        for key, value in fragment.items():
            if key not in ("id", "type", "index") and isinstance(value, dict):
                target = self.parts.setdefault(key, {})
                for sub_key, sub_value in value.items():
                    merge_value(target, sub_key, sub_value)

    def build(self) -> JSONObject:
        kind = self.type or ("custom" if "custom" in self.parts else "function")
        out: JSONObject = {"id": self.id or "", "type": kind}
        if kind == "function":
            function = self.parts.get("function", {})
            out["function"] = {
                "name": as_str(function.get("name")) or "",
                "arguments": as_str(function.get("arguments")) or "",
                **{k: v for k, v in function.items() if k not in ("name", "arguments")},
            }
        out.update({k: v for k, v in self.parts.items() if k not in out})
        return out


@dataclass(slots=True)
class _Choice:
    index: int
    message: JSONObject = field(default_factory=dict)
    """Accumulated delta fields other than content, refusal, tool_calls (role, audio, ...)."""
    content: list[str] | None = None
    refusal: list[str] | None = None
    tool_calls: dict[int, _ToolCall] = field(default_factory=dict)
    logprobs: JSONObject | None = None
    """``{"content": [...] | None, "refusal": [...] | None}`` once any chunk had logprobs."""
    finish_reason: str | None = None
    extra: JSONObject = field(default_factory=dict)
    """Other choice-level fields (Azure ``content_filter_results``): last non-empty wins."""

    def add(self, choice: JSONObject) -> None:
        delta = as_obj(choice.get("delta"))
        if delta is not None:
            self._add_delta(delta)
        self._add_logprobs(choice.get("logprobs"))
        self.finish_reason = as_str(choice.get("finish_reason")) or self.finish_reason
        for key, value in choice.items():
            if key not in ("index", "delta", "logprobs", "finish_reason") and value not in (
                None,
                {},
            ):
                self.extra[key] = value

    def _add_delta(self, delta: JSONObject) -> None:
        for key, value in delta.items():
            if key == "content" and isinstance(value, str):
                self.content = self.content if self.content is not None else []
                self.content.append(value)
            elif key == "refusal" and isinstance(value, str):
                self.refusal = self.refusal if self.refusal is not None else []
                self.refusal.append(value)
            elif key == "tool_calls" and isinstance(value, list):
                for fragment in value:
                    if isinstance(fragment, dict):
                        self._tool_call(fragment).add(fragment)
            elif key not in ("content", "refusal", "tool_calls"):
                merge_value(self.message, key, value)

    def _tool_call(self, fragment: JSONObject) -> _ToolCall:
        """The call a fragment belongs to: by ``index``, else by a new ``id``, else the last."""
        index = as_index(fragment.get("index"))
        if index is None:
            new_id = as_str(fragment.get("id"))
            known = any(call.id == new_id for call in self.tool_calls.values())
            last = max(self.tool_calls, default=-1)
            index = last + 1 if (new_id and not known) or last < 0 else last
        return self.tool_calls.setdefault(index, _ToolCall())

    def _add_logprobs(self, value: JSON) -> None:
        if not isinstance(value, dict):
            return
        if self.logprobs is None:
            self.logprobs = {"content": None, "refusal": None}
        for key, entries in value.items():
            current = self.logprobs.get(key)
            if isinstance(entries, list) and isinstance(current, list):
                current.extend(entries)
            elif isinstance(entries, list):
                self.logprobs[key] = list(entries)
            else:
                self.logprobs.setdefault(key, None)

    def build(self) -> JSONObject:
        message: JSONObject = {
            "role": as_str(self.message.get("role")) or "assistant",
            "content": "".join(self.content) if self.content is not None else None,
            "refusal": "".join(self.refusal) if self.refusal is not None else None,
        }
        if self.tool_calls:
            message["tool_calls"] = [self.tool_calls[i].build() for i in sorted(self.tool_calls)]
        message.update({k: v for k, v in self.message.items() if k not in message})
        out: JSONObject = {"index": self.index, "message": message, "logprobs": self.logprobs}
        out["finish_reason"] = self.finish_reason
        out.update(self.extra)
        return out


class ChoiceBuilder(Protocol):
    """One choice being merged from its chunks (chat message or completions text)."""

    finish_reason: str | None

    def add(self, choice: JSONObject) -> None: ...

    def build(self) -> JSONObject: ...


@dataclass(slots=True)
class _ChunkMerger:
    """Top-level fields and choices of a ``choices``-style stream (chat or completions)."""

    new_choice: Callable[[int], ChoiceBuilder]
    top: JSONObject = field(default_factory=dict)
    extra: JSONObject = field(default_factory=dict)
    usage: JSON = None
    saw_usage: bool = False
    choices: dict[int, ChoiceBuilder] = field(default_factory=dict)
    error: JSONObject | None = None

    def add(self, event: str, chunk: JSONObject) -> None:
        """Merge one chunk. An error payload (``event: error``, or an ``error`` field: OpenAI
        sends it alone, OpenRouter on a chunk whose choices end with ``finish_reason: error``)
        is recorded; its choices, if any, still merge."""
        if event == "error" or chunk.get("error") is not None:
            self.error = error_object(chunk)
            if event == "error" or "choices" not in chunk:
                return
        self._add_top(chunk)
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else []:
            if isinstance(choice, dict):
                index = as_index(choice.get("index")) or 0
                if index not in self.choices:
                    self.choices[index] = self.new_choice(index)
                self.choices[index].add(choice)

    def _add_top(self, chunk: JSONObject) -> None:
        for key in _FIRST_KEYS:
            if not self.top.get(key) and chunk.get(key) not in (None, ""):
                self.top[key] = chunk[key]
        for key in _LAST_KEYS:
            if key in chunk and (chunk[key] is not None or key not in self.top):
                self.top[key] = chunk[key]
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.usage, self.saw_usage = usage, True
        for key, value in chunk.items():
            if key in _SKIP_KEYS or value is None:
                continue
            current = self.extra.get(key)
            if isinstance(current, dict) and isinstance(value, dict):
                current.update(value)  # x_groq: {id, seed} first, {id, usage} last
            else:
                self.extra[key] = value

    def build(self, object_name: str) -> JSONObject | None:
        if not self.top and not self.choices and not self.extra:
            return None
        out: JSONObject = {
            "id": as_str(self.top.get("id")) or "",
            "object": object_name,
            "created": as_int(self.top.get("created")) or 0,
            "model": as_str(self.top.get("model")) or "",
            "choices": [self.choices[i].build() for i in sorted(self.choices)],
            "usage": self.usage,
        }
        out.update({k: self.top[k] for k in _LAST_KEYS if k in self.top})
        out.update({k: v for k, v in self.extra.items() if k not in out})
        return out

    def usage_object(self) -> JSON:
        """``usage``, else Groq's copy under ``x_groq.usage``."""
        if self.saw_usage:
            return self.usage
        groq = as_obj(self.extra.get("x_groq"))
        return groq.get("usage") if groq else None


def merge_choice_stream(
    events: Iterable[SSEEvent], object_name: str, new_choice: Callable[[int], ChoiceBuilder]
) -> Reassembled:
    """Merge a ``choices`` stream into one ``object_name`` object (chat or completions)."""
    tally = EventTally()
    merger = _ChunkMerger(new_choice)
    for name, chunk in tally.parse(events):
        merger.add(name, chunk)
    finished = bool(merger.choices) and all(c.finish_reason for c in merger.choices.values())
    return tally.result(
        output=merger.build(object_name),
        usage=normalise_usage(merger.usage_object()),
        model=as_str(merger.top.get("model")),
        error=merger.error,
        complete=(tally.done or finished) and merger.error is None,
    )


def reassemble_chat(events: Iterable[SSEEvent]) -> Reassembled:
    """Merge ``chat.completion.chunk`` events into one ``chat.completion`` object."""
    return merge_choice_stream(events, "chat.completion", _Choice)
