"""An LLM span's prompt and completion as a chat request and a ``chat.completion``.

A proxied call's ``inputs`` is its request body and its ``output`` the response the app
got; an ingested LLM span is shaped the same, so the UI shows both alike. The forms read,
first found wins (same order as ``conventions``):

1. OpenInference ``input.value``/``output.value`` holding the request and response JSON
   (what ``openinference-instrumentation-openai`` writes), else its flattened
   ``llm.input_messages.{i}.message.*`` / ``llm.output_messages.{i}.message.*``;
2. GenAI ``gen_ai.input.messages``/``gen_ai.output.messages`` (JSON, parts form, 1.37 on;
   ``gen_ai.system_instructions`` prepended), on the span or on its
   ``gen_ai.client.inference.operation.details`` event;
3. GenAI span events: ``gen_ai.content.prompt``/``gen_ai.content.completion`` (1.27) and
   ``gen_ai.{system,user,assistant,tool}.message``/``gen_ai.choice`` (1.28 to 1.36);
4. ``gen_ai.prompt.{i}.*``/``gen_ai.completion.{i}.*`` (OpenLLMetry up to 0.54);
5. a plain ``input.value``/``output.value`` or ``traceloop.entity.input``/``output``.
"""

from __future__ import annotations

import json
import re

from wiretrace_proxy.callrecord import JSON, JSONObject
from wiretrace_proxy.otlp.conventions import LlmFacts, json_value

__all__ = ["llm_inputs", "llm_output", "unflatten"]

_INDEXED = re.compile(r"^(\d+)\.(.+)$")
_PARAMETERS = (
    "temperature",
    "top_p",
    "top_k",
    "max_tokens",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "stop_sequences",
    "stream",
)
_ROLE_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}


def unflatten(attributes: JSONObject, prefix: str) -> list[JSONObject]:
    """``{prefix}.{i}.a.b`` keys as a list of nested objects, in index order (numeric path
    segments become list positions: ``tool_calls.0.id`` is ``tool_calls[0].id``)."""
    items: dict[int, JSONObject] = {}
    start = prefix + "."
    for key, value in attributes.items():
        if not key.startswith(start):
            continue
        found = _INDEXED.match(key[len(start) :])
        if found is None:
            continue
        _put(items.setdefault(int(found.group(1)), {}), found.group(2).split("."), value)
    return [_lists(items[i]) for i in sorted(items)]  # type: ignore[misc]


def _put(target: JSONObject, path: list[str], value: JSON) -> None:
    for segment in path[:-1]:
        child = target.get(segment)
        if not isinstance(child, dict):
            child = target[segment] = {}
        target = child
    target[path[-1]] = value


def _lists(value: JSON) -> JSON:
    """Objects whose keys are all digits become lists, in index order."""
    if not isinstance(value, dict):
        return value
    if value and all(k.isdigit() for k in value):
        return [_lists(value[k]) for k in sorted(value, key=int)]
    return {k: _lists(v) for k, v in value.items()}


# --- each form as OpenAI chat messages ---------------------------------------------------


def _openinference_message(item: JSONObject) -> JSONObject:
    message = item.get("message")
    message = message if isinstance(message, dict) else item
    out: JSONObject = {"role": message.get("role") or "user"}
    contents = message.get("contents")
    if isinstance(contents, list):
        out["content"] = [_openinference_part(c) for c in contents]
    elif "content" in message:
        out["content"] = message["content"]
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        out["tool_calls"] = [_openinference_call(c) for c in calls]
    for key in ("tool_call_id", "name"):
        if isinstance(message.get(key), str):
            out[key] = message[key]
    return out


def _openinference_part(item: JSON) -> JSON:
    part = item.get("message_content") if isinstance(item, dict) else None
    if not isinstance(part, dict):
        return item
    if part.get("type") == "image":
        image = part.get("image")
        url = image.get("image", {}) if isinstance(image, dict) else {}
        return {"type": "image_url", "image_url": url if isinstance(url, dict) else {}}
    return {"type": "text", "text": part.get("text")}


def _openinference_call(item: JSON) -> JSON:
    call = item.get("tool_call") if isinstance(item, dict) else None
    if not isinstance(call, dict):
        return item
    function = call.get("function")
    function = function if isinstance(function, dict) else {}
    return {
        "id": call.get("id"),
        "type": "function",
        "function": {"name": function.get("name"), "arguments": function.get("arguments")},
    }


def _parts_message(item: JSON) -> JSONObject:
    """A GenAI parts-form message (``{role, parts, name?, finish_reason?}``) as OpenAI's."""
    if not isinstance(item, dict):
        return {"role": "user", "content": item}
    parts = item.get("parts")
    parts = parts if isinstance(parts, list) else []
    out: JSONObject = {"role": item.get("role") or "user"}
    texts: list[JSON] = []
    media: list[JSON] = []
    calls: list[JSON] = []
    for part in parts:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text":
            texts.append(part.get("content"))
        elif kind == "tool_call":
            arguments = part.get("arguments")
            calls.append(
                {
                    "id": part.get("id"),
                    "type": "function",
                    "function": {
                        "name": part.get("name"),
                        "arguments": arguments
                        if isinstance(arguments, str)
                        else json.dumps(arguments),
                    },
                }
            )
        elif kind == "tool_call_response":
            out["role"] = "tool"
            out["tool_call_id"] = part.get("id")
            response = part.get("response", part.get("result"))
            texts.append(response if isinstance(response, str) else json.dumps(response))
        elif kind == "reasoning":
            out["reasoning"] = part.get("content")
        else:
            media.append(part)
    if media:
        text_parts: list[JSON] = [{"type": "text", "text": t} for t in texts]
        out["content"] = text_parts + media
    elif len(texts) == 1:
        out["content"] = texts[0]
    elif texts:
        out["content"] = [{"type": "text", "text": t} for t in texts]
    else:
        out["content"] = None
    if calls:
        out["tool_calls"] = calls
    if isinstance(item.get("name"), str):
        out["name"] = item["name"]
    return out


def _legacy_message(item: JSONObject) -> JSONObject:
    """``gen_ai.prompt.{i}`` / ``gen_ai.completion.{i}`` (OpenLLMetry up to 0.54)."""
    out: JSONObject = {"role": item.get("role") or "user", "content": item.get("content")}
    calls = item.get("tool_calls")
    if isinstance(calls, list):
        out["tool_calls"] = [
            {
                "id": c.get("id"),
                "type": "function",
                "function": {"name": c.get("name"), "arguments": c.get("arguments")},
            }
            for c in calls
            if isinstance(c, dict)
        ]
    if isinstance(item.get("tool_call_id"), str):
        out["tool_call_id"] = item["tool_call_id"]
    return out


def _system_instructions(value: JSON) -> JSONObject | None:
    parsed = json_value(value)
    if isinstance(parsed, list):
        texts = [p.get("content") for p in parsed if isinstance(p, dict)]
        return {"role": "system", "content": "\n".join(t for t in texts if isinstance(t, str))}
    if isinstance(parsed, str):
        return {"role": "system", "content": parsed}
    return None


def _event_attributes(events: list[JSONObject], name: str) -> JSONObject:
    for event in events:
        if event.get("name") == name and isinstance(event.get("attributes"), dict):
            attributes = event["attributes"]
            assert isinstance(attributes, dict)
            return attributes
    return {}


def _event_body(event: JSONObject) -> JSONObject:
    attributes = event.get("attributes")
    attributes = attributes if isinstance(attributes, dict) else {}
    for key in ("body", "gen_ai.event.content"):
        body = json_value(attributes.get(key))
        if isinstance(body, dict):
            return body
    return attributes


# --- inputs ---------------------------------------------------------------------------------


def _input_messages(attributes: JSONObject, events: list[JSONObject]) -> list[JSON] | None:
    flat = unflatten(attributes, "llm.input_messages")
    if flat:
        return [_openinference_message(m) for m in flat]
    details = {**_event_attributes(events, "gen_ai.client.inference.operation.details")}
    details.update({k: v for k, v in attributes.items() if k.startswith("gen_ai.")})
    parts = json_value(details.get("gen_ai.input.messages"))
    if isinstance(parts, list):
        system = _system_instructions(details.get("gen_ai.system_instructions"))
        converted: list[JSON] = [system] if system else []
        return converted + [_parts_message(m) for m in parts]
    prompt = json_value(_event_attributes(events, "gen_ai.content.prompt").get("gen_ai.prompt"))
    if isinstance(prompt, list):
        return prompt
    per_event: list[JSON] = []
    for event in events:
        role = _ROLE_EVENTS.get(str(event.get("name")))
        if role is not None:
            per_event.append({"role": role, **_legacy_message(_event_body(event))} | {"role": role})
    if per_event:
        return per_event
    legacy = unflatten(attributes, "gen_ai.prompt")
    if legacy:
        return [_legacy_message(m) for m in legacy]
    return None


def llm_inputs(attributes: JSONObject, events: list[JSONObject], facts: LlmFacts) -> JSON:
    """The request as a chat completion request body (``{"model", "messages", ...}``)."""
    request = json_value(attributes.get("input.value"))
    if isinstance(request, dict) and ("messages" in request or "input" in request):
        return request
    messages = _input_messages(attributes, events)
    if messages is None:
        raw = attributes.get("input.value", attributes.get("traceloop.entity.input"))
        return json_value(raw) if json_value(raw) is not None else raw
    body: JSONObject = {"model": facts.model, "messages": messages}
    parameters = json_value(attributes.get("llm.invocation_parameters"))
    if isinstance(parameters, dict):
        body.update({k: v for k, v in parameters.items() if k not in body})
    for name in _PARAMETERS:
        value = attributes.get(f"gen_ai.request.{name}")
        if value is not None:
            body.setdefault("stop" if name == "stop_sequences" else name, value)
    return body


# --- output ---------------------------------------------------------------------------------


def _choice(index: int, message: JSONObject, finish: JSON) -> JSONObject:
    message = dict(message)
    reason = message.pop("finish_reason", None) or finish
    message.setdefault("role", "assistant")
    return {"index": index, "message": message, "finish_reason": reason}


def _choices(
    attributes: JSONObject, events: list[JSONObject], reasons: list[str]
) -> list[JSONObject] | None:
    def reason(i: int) -> JSON:
        return reasons[i] if i < len(reasons) else None

    flat = unflatten(attributes, "llm.output_messages")
    if flat:
        return [_choice(i, _openinference_message(m), reason(i)) for i, m in enumerate(flat)]
    details = {**_event_attributes(events, "gen_ai.client.inference.operation.details")}
    details.update({k: v for k, v in attributes.items() if k.startswith("gen_ai.")})
    parts = json_value(details.get("gen_ai.output.messages"))
    if isinstance(parts, list):
        out = []
        for i, item in enumerate(parts):
            finish = item.get("finish_reason") if isinstance(item, dict) else None
            out.append(_choice(i, _parts_message(item), finish or reason(i)))
        return out
    completion = _event_attributes(events, "gen_ai.content.completion").get("gen_ai.completion")
    completed = json_value(completion)
    if isinstance(completed, list):
        return [_event_choice(i, c, reason(i)) for i, c in enumerate(completed)]
    chosen = [_event_body(e) for e in events if e.get("name") == "gen_ai.choice"]
    if chosen:
        return [_event_choice(i, c, reason(i)) for i, c in enumerate(chosen)]
    legacy = unflatten(attributes, "gen_ai.completion")
    if legacy:
        return [
            _choice(i, _legacy_message(m), m.get("finish_reason") or reason(i))
            for i, m in enumerate(legacy)
        ]
    return None


def _event_choice(index: int, item: JSON, finish: JSON) -> JSONObject:
    if not isinstance(item, dict):
        return _choice(index, {"content": item}, finish)
    message = item.get("message")
    if isinstance(message, dict):
        position = item.get("index")
        return _choice(
            position if isinstance(position, int) else index,
            _legacy_message({"role": "assistant", **message}),
            item.get("finish_reason") or finish,
        )
    return _choice(index, _legacy_message({"role": "assistant", **item}), finish)


def llm_output(attributes: JSONObject, events: list[JSONObject], facts: LlmFacts) -> JSON:
    """The response as a ``chat.completion`` object (OpenInference's JSON body as it is)."""
    if facts.response is not None:
        return facts.response
    choices = _choices(attributes, events, facts.finish_reasons)
    if choices is None:
        raw = attributes.get("output.value", attributes.get("traceloop.entity.output"))
        return json_value(raw) if json_value(raw) is not None else raw
    out: JSONObject = {
        "id": facts.response_id,
        "object": "chat.completion",
        "model": facts.response_model or facts.model,
        "choices": list(choices),
    }
    if facts.usage is not None:
        out["usage"] = {k: v for k, v in facts.usage.to_dict().items() if v is not None}
    return out
