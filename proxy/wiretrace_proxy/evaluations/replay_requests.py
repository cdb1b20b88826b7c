"""A recorded request with a replay's overrides, and the text a scorer reads of an answer.

Overrides, in this order: ``model``; each ``--set key=value`` (a top-level body field,
the value read as JSON when it parses, else as a string); the system prompt, which
replaces the content of the first ``system``/``developer`` message of a chat request (or
is put first when there is none), or sets ``instructions`` on a Responses request. A
replay waits for whole answers, so ``stream`` and ``stream_options`` are removed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping

from wiretrace_proxy.callrecord import JSON, JSONObject

__all__ = ["answer_text", "override", "parse_setting"]


def parse_setting(text: str) -> tuple[str, JSON]:
    """``key=value`` as ``(key, value)``; ``ValueError`` without a ``=`` or a key."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"expected key=value, got {text!r}")
    try:
        value: JSON = json.loads(raw)
    except ValueError:
        value = raw
    return key.strip(), value


def override(
    body: JSON,
    model: str,
    settings: Mapping[str, JSON],
    system_prompt: str | None,
) -> JSONObject:
    """A copy of the recorded request ``body`` with the overrides (the module docstring)."""
    if not isinstance(body, dict):
        raise ValueError("the recorded request is not a JSON object")
    out: JSONObject = copy.deepcopy(body)
    out["model"] = model
    out.update(copy.deepcopy(dict(settings)))
    out.pop("stream", None)
    out.pop("stream_options", None)
    if system_prompt is not None:
        _set_system_prompt(out, system_prompt)
    return out


def _set_system_prompt(body: JSONObject, prompt: str) -> None:
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, dict) and message.get("role") in ("system", "developer"):
                message["content"] = prompt
                return
        messages.insert(0, {"role": "system", "content": prompt})
    else:
        body["instructions"] = prompt


def answer_text(answer: JSON) -> JSON:
    """The text of a chat, Responses or completions answer; the answer itself otherwise."""
    if not isinstance(answer, dict):
        return answer
    choices = answer.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        first = choices[0]
        message = first.get("message")
        if isinstance(message, dict):
            return message.get("content")
        if "text" in first:
            return first["text"]
    output = answer.get("output")
    if isinstance(output, list):
        texts: list[str] = []
        for item in output:
            content = item.get("content") if isinstance(item, dict) else None
            for part in content if isinstance(content, list) else []:
                if isinstance(part, dict) and part.get("type") == "output_text":
                    text = part.get("text")
                    texts.append(text if isinstance(text, str) else "")
        return "".join(texts)
    return answer
