"""OpenAI request and response bodies as GenAI semantic-convention messages (pure).

The conventions' ``gen_ai.input.messages`` and ``gen_ai.output.messages`` are lists of
``{role, parts: [...], name?}`` (output messages add ``finish_reason``), a part being
``{type: "text", content}``, ``{type: "tool_call", id, name, arguments}``,
``{type: "tool_call_response", id, response}``, ``{type: "reasoning", content}`` or
``{type: "uri", modality, uri}``; any other part keeps its own ``type`` and fields. Chat
Completions, Responses and legacy Completions bodies are read; anything else (a raw or
truncated body, embeddings) gives no messages.
"""

from __future__ import annotations

import json

from wiretrace_proxy.callrecord import JSON, JSONObject
from wiretrace_proxy.endpoints import Endpoint

__all__ = ["input_messages", "output_messages", "system_instructions"]

FINISH_REASONS = {
    "stop": "stop",
    "length": "length",
    "content_filter": "content_filter",
    "tool_calls": "tool_call",
    "function_call": "tool_call",
}
"""OpenAI's finish reasons in the conventions' words (others pass through)."""


def input_messages(endpoint: Endpoint, inputs: JSON) -> list[JSONObject] | None:
    """The request's messages, or None when the body has none readable."""
    if not isinstance(inputs, dict):
        return None
    if endpoint is Endpoint.CHAT and isinstance(inputs.get("messages"), list):
        return [_chat_message(m) for m in _objects(_list(inputs["messages"]))]
    if endpoint is Endpoint.RESPONSES:
        return _responses_input(inputs.get("input"))
    if endpoint is Endpoint.COMPLETIONS:
        prompt = inputs.get("prompt")
        prompts = prompt if isinstance(prompt, list) else [prompt]
        texts = [p for p in prompts if isinstance(p, str)]
        return [_message("user", [_text(t)]) for t in texts] or None
    return None


def system_instructions(endpoint: Endpoint, inputs: JSON) -> list[JSONObject] | None:
    """Instructions given apart from the history (Responses' ``instructions``), or None."""
    if endpoint is Endpoint.RESPONSES and isinstance(inputs, dict):
        instructions = inputs.get("instructions")
        if isinstance(instructions, str) and instructions:
            return [_text(instructions)]
    return None


def output_messages(endpoint: Endpoint, output: JSON) -> list[JSONObject] | None:
    """The response's messages (one per choice), or None when the body has none readable."""
    if not isinstance(output, dict):
        return None
    if endpoint in (Endpoint.CHAT, Endpoint.COMPLETIONS) and isinstance(
        output.get("choices"), list
    ):
        return [_choice(c) for c in _objects(_list(output["choices"]))] or None
    if endpoint is Endpoint.RESPONSES and isinstance(output.get("output"), list):
        parts: list[JSONObject] = []
        for item in _objects(_list(output["output"])):
            parts.extend(_responses_item_parts(item))
        message = _message("assistant", parts)
        message["finish_reason"] = responses_finish_reason(output)
        return [message]
    return None


def finish_reasons(endpoint: Endpoint, output: JSON) -> list[str]:
    """Each choice's finish reason as OpenAI spelled it (``gen_ai.response.finish_reasons``)."""
    if not isinstance(output, dict):
        return []
    if endpoint is Endpoint.RESPONSES:
        return [responses_finish_reason(output)] if output.get("status") else []
    choices = output.get("choices")
    if not isinstance(choices, list):
        return []
    return [str(c["finish_reason"]) for c in _objects(choices) if c.get("finish_reason")]


def responses_finish_reason(output: JSONObject) -> str:
    """A Responses ``status`` (and ``incomplete_details.reason``) as a finish reason."""
    status = output.get("status")
    if status == "incomplete":
        details = output.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        return "length" if reason == "max_output_tokens" else str(reason or "length")
    if status == "failed":
        return "error"
    if any(isinstance(i, dict) and i.get("type") == "function_call" for i in _items(output)):
        return "tool_call"
    return "stop"


def _items(output: JSONObject) -> list[JSON]:
    items = output.get("output")
    return items if isinstance(items, list) else []


def _objects(values: list[JSON]) -> list[JSONObject]:
    return [v for v in values if isinstance(v, dict)]


def _message(role: str, parts: list[JSONObject], name: JSON = None) -> JSONObject:
    message: JSONObject = {"role": role, "parts": list(parts)}
    if isinstance(name, str) and name:
        message["name"] = name
    return message


def _text(content: str) -> JSONObject:
    return {"type": "text", "content": content}


def _arguments(value: JSON) -> JSON:
    """Tool call arguments as the JSON they spell, else the text as sent."""
    if isinstance(value, str):
        try:
            parsed: JSON = json.loads(value)
        except ValueError:
            return value
        return parsed
    return value


def _chat_message(message: JSONObject) -> JSONObject:
    role = str(message.get("role") or "user")
    if role == "tool":
        response = _content_parts(message.get("content"))
        flat: JSON = response[0]["content"] if len(response) == 1 else message.get("content")
        part = {"type": "tool_call_response", "id": message.get("tool_call_id"), "response": flat}
        return _message(role, [part])
    parts = _content_parts(message.get("content"))
    reasoning = message.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        parts.insert(0, {"type": "reasoning", "content": reasoning})
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal:
        parts.append(_text(refusal))
    for call in _objects(_list(message.get("tool_calls"))):
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        parts.append(
            {
                "type": "tool_call",
                "id": call.get("id"),
                "name": function.get("name"),
                "arguments": _arguments(function.get("arguments")),
            }
        )
    return _message(role, parts, message.get("name"))


def _list(value: JSON) -> list[JSON]:
    return value if isinstance(value, list) else []


def _content_parts(content: JSON) -> list[JSONObject]:
    """A message's ``content``: text, or a list of typed parts."""
    if isinstance(content, str):
        return [_text(content)]
    parts: list[JSONObject] = []
    for part in _objects(_list(content)):
        kind = part.get("type")
        if kind in ("text", "input_text", "output_text") and isinstance(part.get("text"), str):
            parts.append(_text(str(part["text"])))
        elif kind == "refusal" and isinstance(part.get("refusal"), str):
            parts.append(_text(str(part["refusal"])))
        elif kind in ("image_url", "input_image"):
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            parts.append({"type": "uri", "modality": "image", "uri": url})
        else:
            parts.append(dict(part))  # a part kind the conventions have no name for: as sent
    return parts


def _responses_input(value: JSON) -> list[JSONObject] | None:
    if isinstance(value, str):
        return [_message("user", [_text(value)])]
    if not isinstance(value, list):
        return None
    messages: list[JSONObject] = []
    for item in _objects(value):
        kind = item.get("type")
        if kind == "function_call_output":
            part = {
                "type": "tool_call_response",
                "id": item.get("call_id"),
                "response": item.get("output"),
            }
            messages.append(_message("tool", [part]))
        elif kind in ("function_call", "reasoning"):
            messages.append(_message("assistant", _responses_item_parts(item)))
        elif "role" in item:
            role = str(item.get("role") or "user")
            messages.append(_message(role, _content_parts(item.get("content"))))
    return messages


def _responses_item_parts(item: JSONObject) -> list[JSONObject]:
    """One Responses output (or replayed input) item as message parts."""
    kind = item.get("type")
    if kind == "message":
        return _content_parts(item.get("content"))
    if kind == "function_call":
        return [
            {
                "type": "tool_call",
                "id": item.get("call_id"),
                "name": item.get("name"),
                "arguments": _arguments(item.get("arguments")),
            }
        ]
    if kind == "reasoning":
        texts = [s.get("text") for s in _objects(_list(item.get("summary")))]
        return [{"type": "reasoning", "content": t} for t in texts if isinstance(t, str)]
    return [dict(item)]


def _choice(choice: JSONObject) -> JSONObject:
    message = choice.get("message")
    if isinstance(message, dict):
        converted = _chat_message({**message, "role": message.get("role") or "assistant"})
    else:  # a legacy completion: the text
        text = choice.get("text")
        converted = _message("assistant", [_text(text)] if isinstance(text, str) else [])
    reason = choice.get("finish_reason")
    converted["finish_reason"] = FINISH_REASONS.get(str(reason), str(reason)) if reason else None
    return converted
