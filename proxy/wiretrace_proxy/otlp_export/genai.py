"""A proxied call's GenAI semantic-convention attributes (``gen_ai.*``; pure).

The current names (conventions v1.37 and later): ``gen_ai.provider.name`` (and the older
``gen_ai.system`` beside it, which many backends still read), request parameters, the
response's id, model and finish reasons, usage (``input_tokens`` includes cached tokens,
``output_tokens`` includes reasoning tokens, as the conventions say), time to first chunk
in seconds, and the messages as JSON strings. Cost has no convention: ``gen_ai.usage.cost``
is the key Langfuse reads.
"""

from __future__ import annotations

from wiretrace_proxy import jsonsafe
from wiretrace_proxy.callrecord import JSON, CallRecord, JSONObject
from wiretrace_proxy.endpoints import Endpoint, create_op_endpoint
from wiretrace_proxy.otlp_export import messages

__all__ = [
    "OPERATIONS",
    "OTHER_PROVIDER",
    "genai_attributes",
    "operation_name",
    "provider_name",
    "span_name",
]

OPERATIONS = {
    Endpoint.CHAT: "chat",
    Endpoint.RESPONSES: "chat",
    Endpoint.COMPLETIONS: "text_completion",
    Endpoint.EMBEDDINGS: "embeddings",
}
"""``gen_ai.operation.name`` of each create call."""

_NUMBER_PARAMETERS = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
}
_INT_PARAMETERS = {
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "max_output_tokens": "gen_ai.request.max_tokens",
    "seed": "gen_ai.request.seed",
    "n": "gen_ai.request.choice.count",
}

PROVIDER_NAMES = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "groq": "groq",
    "mistral": "mistral_ai",
    "deepseek": "deepseek",
    "gemini": "gcp.gemini",
    "xai": "x_ai",
}
"""wiretrace's provider names (``providers``) as ``gen_ai.provider.name`` spells them; a
provider the conventions do not list keeps its own name."""
OTHER_PROVIDER = "_OTHER"
"""The conventions' value for a provider they cannot name (a local or unknown server)."""

to_json = jsonsafe.encoder(ensure_ascii=False)

MAX_BODY_BYTES = 1_000_000
"""A body larger than this gives no message attributes (``wiretrace.omitted_attributes``
names them): a backend would cut or refuse them, and JSON-encoding it is one call that
holds the GIL, which the event loop would wait out, for as long as it takes."""
"""Compact JSON text for attribute values (never ``NaN``)."""


def provider_name(provider: str | None) -> str:
    """A provider's ``gen_ai.provider.name``."""
    if not provider:
        return OTHER_PROVIDER
    return PROVIDER_NAMES.get(provider, provider)


def operation_name(record: CallRecord) -> str | None:
    endpoint = create_op_endpoint(record.op_name)
    return OPERATIONS.get(endpoint) if endpoint is not None else None


def span_name(record: CallRecord) -> str:
    """``{operation} {model}`` for a GenAI call (the conventions' span name), else the op."""
    operation = operation_name(record)
    if operation is None:
        return record.display_name or record.op_name
    return f"{operation} {record.model}" if record.model else operation


def genai_attributes(record: CallRecord, provider: str) -> JSONObject:
    """Every ``gen_ai.*`` (and ``openai.*``) attribute the record has a value for."""
    endpoint = create_op_endpoint(record.op_name)
    operation = OPERATIONS.get(endpoint) if endpoint is not None else None
    attributes: JSONObject = {
        "gen_ai.provider.name": provider,
        "gen_ai.system": provider,
        "gen_ai.operation.name": operation,
        "gen_ai.request.model": record.model,
        "gen_ai.response.model": record.response_model,
        "gen_ai.conversation.id": record.session_id,
        "gen_ai.usage.cost": record.cost_usd,
    }
    if record.ttft_ms is not None:
        attributes["gen_ai.response.time_to_first_chunk"] = record.ttft_ms / 1000
    if record.usage is not None:
        attributes.update(
            {
                "gen_ai.usage.input_tokens": record.usage.prompt_tokens,
                "gen_ai.usage.output_tokens": record.usage.completion_tokens,
                "gen_ai.usage.cache_read.input_tokens": record.usage.cached_tokens,
                "gen_ai.usage.reasoning.output_tokens": record.usage.reasoning_tokens,
            }
        )
    if endpoint is not None:
        attributes.update(_request_attributes(record.inputs))
        attributes.update(_response_attributes(endpoint, record.output))
        attributes.update(_message_attributes(endpoint, record))
    return {key: value for key, value in attributes.items() if value is not None}


def _request_attributes(inputs: JSON) -> JSONObject:
    if not isinstance(inputs, dict):
        return {}
    found: JSONObject = {}
    for name, key in _NUMBER_PARAMETERS.items():
        value = inputs.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            found[key] = float(value)
    for name, key in _INT_PARAMETERS.items():
        value = inputs.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            found[key] = value
    stop = inputs.get("stop")
    if isinstance(stop, str):
        found["gen_ai.request.stop_sequences"] = [stop]
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        found["gen_ai.request.stop_sequences"] = stop
    if isinstance(inputs.get("stream"), bool):
        found["gen_ai.request.stream"] = inputs["stream"]
    tier = inputs.get("service_tier")
    if isinstance(tier, str):
        found["openai.request.service_tier"] = tier
    return found


def _response_attributes(endpoint: Endpoint, output: JSON) -> JSONObject:
    if not isinstance(output, dict):
        return {}
    found: JSONObject = {}
    if isinstance(output.get("id"), str):
        found["gen_ai.response.id"] = output["id"]
    reasons = messages.finish_reasons(endpoint, output)
    if reasons:
        listed: list[JSON] = list(reasons)
        found["gen_ai.response.finish_reasons"] = listed
    if isinstance(output.get("service_tier"), str):
        found["openai.response.service_tier"] = output["service_tier"]
    if isinstance(output.get("system_fingerprint"), str):
        found["openai.response.system_fingerprint"] = output["system_fingerprint"]
    return found


def body_too_big(record: CallRecord, side: str) -> bool:
    """Whether the record's ``request`` or ``response`` body is over ``MAX_BODY_BYTES``."""
    body = record.attributes.get(side)
    size = body.get("bytes") if isinstance(body, dict) else None
    return isinstance(size, int) and size > MAX_BODY_BYTES


def _message_attributes(endpoint: Endpoint, record: CallRecord) -> JSONObject:
    found: JSONObject = {}
    omitted: list[JSON] = []
    inputs = record.inputs
    if body_too_big(record, "request"):
        omitted.append("gen_ai.input.messages")
    else:
        given = messages.input_messages(endpoint, inputs)
        if given is not None:
            found["gen_ai.input.messages"] = to_json(given)
        instructions = messages.system_instructions(endpoint, inputs)
        if instructions is not None:
            found["gen_ai.system_instructions"] = to_json(instructions)
        if isinstance(inputs, dict) and isinstance(inputs.get("tools"), list) and inputs["tools"]:
            found["gen_ai.tool.definitions"] = to_json(inputs["tools"])
    if body_too_big(record, "response"):
        omitted.append("gen_ai.output.messages")
    else:
        answered = messages.output_messages(endpoint, record.output)
        if answered is not None:
            found["gen_ai.output.messages"] = to_json(answered)
    if omitted:
        found["wiretrace.omitted_attributes"] = omitted
    return found
