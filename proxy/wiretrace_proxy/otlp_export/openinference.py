"""OpenInference attributes (Arize Phoenix's conventions), added with
``--otlp-export-openinference`` (pure).

Phoenix reads these first and fills gaps from ``gen_ai.*``; Langfuse reads both. Messages
are flattened with zero-based indices (``llm.input_messages.0.message.role``), token counts
are ``llm.token_count.*``, and ``input.value``/``output.value`` carry the bodies as JSON.
"""

from __future__ import annotations

from wiretrace_proxy.callrecord import JSON, CallRecord, JSONObject
from wiretrace_proxy.endpoints import Endpoint, create_op_endpoint
from wiretrace_proxy.otlp_export import messages
from wiretrace_proxy.otlp_export.genai import body_too_big, to_json

__all__ = ["openinference_attributes"]

_KINDS = {
    Endpoint.CHAT: "LLM",
    Endpoint.RESPONSES: "LLM",
    Endpoint.COMPLETIONS: "LLM",
    Endpoint.EMBEDDINGS: "EMBEDDING",
}
_BODY_KEYS = {"messages", "input", "prompt", "tools", "instructions"}
"""Request keys that are content, not invocation parameters."""


def openinference_attributes(record: CallRecord, provider: str) -> JSONObject:
    """The OpenInference keys for a proxied call or an SDK span."""
    endpoint = create_op_endpoint(record.op_name) if record.kind == "llm" else None
    kind = _KINDS.get(endpoint, "LLM") if endpoint is not None else "CHAIN"
    if record.kind == "llm" and endpoint is None:
        kind = "UNKNOWN"
    found: JSONObject = {
        "openinference.span.kind": kind,
        "session.id": record.session_id,
        "user.id": record.user_id,
    }
    found.update(_values(record))
    if record.kind == "llm":
        found.update(_llm(record, endpoint, provider))
    return {key: value for key, value in found.items() if value is not None}


def _values(record: CallRecord) -> JSONObject:
    """The bodies as JSON (``genai.MAX_BODY_BYTES`` at most: see there)."""
    found: JSONObject = {}
    if record.inputs is not None and not body_too_big(record, "request"):
        found["input.value"] = to_json(record.inputs)
        found["input.mime_type"] = "application/json"
    if record.output is not None and not body_too_big(record, "response"):
        found["output.value"] = to_json(record.output)
        found["output.mime_type"] = "application/json"
    return found


def _llm(record: CallRecord, endpoint: Endpoint | None, provider: str) -> JSONObject:
    found: JSONObject = {
        "llm.system": provider,
        "llm.provider": provider,
        "llm.model_name": record.response_model or record.model,
        "llm.cost.total": record.cost_usd,
    }
    if isinstance(record.inputs, dict):
        parameters = {k: v for k, v in record.inputs.items() if k not in _BODY_KEYS}
        found["llm.invocation_parameters"] = to_json(parameters)
    if record.usage is not None:
        found.update(
            {
                "llm.token_count.prompt": record.usage.prompt_tokens,
                "llm.token_count.completion": record.usage.completion_tokens,
                "llm.token_count.total": record.usage.total_tokens,
                "llm.token_count.prompt_details.cache_read": record.usage.cached_tokens,
                "llm.token_count.completion_details.reasoning": record.usage.reasoning_tokens,
            }
        )
    if endpoint is not None and not body_too_big(record, "request"):
        given = messages.input_messages(endpoint, record.inputs) or []
        found.update(_flattened("llm.input_messages", given))
    if endpoint is not None and not body_too_big(record, "response"):
        answered = messages.output_messages(endpoint, record.output) or []
        found.update(_flattened("llm.output_messages", answered))
    return found


def _flattened(prefix: str, listed: list[JSONObject]) -> JSONObject:
    """GenAI messages as OpenInference's flattened keys."""
    found: JSONObject = {}
    for index, message in enumerate(listed):
        at = f"{prefix}.{index}.message"
        found[f"{at}.role"] = message.get("role")
        parts = message.get("parts")
        parts = parts if isinstance(parts, list) else []
        texts = [p.get("content") for p in parts if isinstance(p, dict) and p.get("type") == "text"]
        if texts and all(isinstance(t, str) for t in texts):
            found[f"{at}.content"] = "".join(str(t) for t in texts)
        calls = [p for p in parts if isinstance(p, dict) and p.get("type") == "tool_call"]
        for number, call in enumerate(calls):
            base = f"{at}.tool_calls.{number}.tool_call"
            found[f"{base}.id"] = call.get("id")
            found[f"{base}.function.name"] = call.get("name")
            found[f"{base}.function.arguments"] = _text(call.get("arguments"))
        responses = [
            p for p in parts if isinstance(p, dict) and p.get("type") == "tool_call_response"
        ]
        if responses:
            found[f"{at}.tool_call_id"] = responses[0].get("id")
            found[f"{at}.content"] = _text(responses[0].get("response"))
        if isinstance(message.get("name"), str):
            found[f"{at}.name"] = message["name"]
    return found


def _text(value: JSON) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return to_json(value)
