"""What an LLM span's attributes say about the call: models, usage, ids, timing.

Three conventions name the same facts. For each fact the keys are tried in order and the
first usable value wins: OpenInference first, then the GenAI semantic conventions (current
names, then the names before 1.27 that OpenLLMetry up to 0.54 still writes), then
OpenLLMetry's own keys. This is Phoenix's rule (a span's native OpenInference keys win,
``gen_ai.*`` fills the gaps); the instrumentations that write two conventions at once write
the same numbers in both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from wiretrace_proxy.callrecord import JSON, JSONObject, Usage

__all__ = ["LlmFacts", "json_value", "llm_facts"]

_REQUEST_MODEL = ("llm.request.model_name", "llm.model_name", "gen_ai.request.model")
_RESPONSE_MODEL = ("llm.response.model_name", "gen_ai.response.model")
_PROMPT = (
    "llm.token_count.prompt",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.usage.prompt_tokens",
)
_COMPLETION = (
    "llm.token_count.completion",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.usage.completion_tokens",
)
_TOTAL = ("llm.token_count.total", "gen_ai.usage.total_tokens", "llm.usage.total_tokens")
_CACHED = (
    "llm.token_count.prompt_details.cache_read",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
)
_REASONING = (
    "llm.token_count.completion_details.reasoning",
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_tokens",
)
_RESPONSE_ID = ("gen_ai.response.id",)
_SESSION = ("session.id", "gen_ai.conversation.id")
_USER = ("user.id", "enduser.id")
_PROVIDER = ("gen_ai.provider.name", "llm.provider", "gen_ai.system", "llm.system")
_PROVIDER_HOSTS = {
    "openai": "https://api.openai.com",
    "azure.ai.openai": "https://openai.azure.com",
    "anthropic": "https://api.anthropic.com",
    "mistral_ai": "https://api.mistral.ai",
    "groq": "https://api.groq.com",
    "deepseek": "https://api.deepseek.com",
    "x_ai": "https://api.x.ai",
    "cohere": "https://api.cohere.com",
    "gcp.gemini": "https://generativelanguage.googleapis.com",
    "perplexity": "https://api.perplexity.ai",
}


@dataclass(frozen=True, slots=True)
class LlmFacts:
    """The call as the span describes it; None where it says nothing."""

    model: str | None
    response_model: str | None
    usage: Usage | None
    response_id: str | None
    ttft_ms: float | None
    finish_reasons: list[str]
    session_id: str | None
    user_id: str | None
    provider: str | None
    upstream: str | None
    """A base URL for pricing: ``server.address``, else the provider's usual host."""
    response: JSONObject | None
    """OpenInference's ``output.value`` when it is the response as JSON."""


def json_value(value: JSON) -> JSON:
    """A JSON string attribute parsed (None if it is not JSON); other values as they are."""
    if not isinstance(value, str):
        return value
    try:
        parsed: JSON = json.loads(value)
    except (ValueError, RecursionError):
        return None
    return parsed


def _text(attributes: JSONObject, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _count(attributes: JSONObject, keys: tuple[str, ...]) -> int | None:
    for key in keys:
        value = attributes.get(key)
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def _usage(attributes: JSONObject) -> Usage | None:
    prompt, completion = _count(attributes, _PROMPT), _count(attributes, _COMPLETION)
    usage = Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=_count(attributes, _TOTAL),
        cached_tokens=_count(attributes, _CACHED),
        reasoning_tokens=_count(attributes, _REASONING),
    )
    if usage.total_tokens is None and prompt is not None and completion is not None:
        usage.total_tokens = prompt + completion
    return usage if any(v is not None for v in usage.to_dict().values()) else None


def _response(attributes: JSONObject) -> JSONObject | None:
    value = attributes.get("output.value")
    mime = attributes.get("output.mime_type")
    if not isinstance(value, str) or (mime is not None and mime != "application/json"):
        return None
    parsed = json_value(value)
    return parsed if isinstance(parsed, dict) else None


def _finish_reasons(attributes: JSONObject) -> list[str]:
    for key in ("gen_ai.response.finish_reasons", "llm.finish_reason"):
        value = attributes.get(key)
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return [v for v in value if isinstance(v, str)]
    return []


def _upstream(attributes: JSONObject, provider: str | None) -> str | None:
    host = attributes.get("server.address")
    if isinstance(host, str) and host:
        port = attributes.get("server.port")
        return f"https://{host}" + (f":{port}" if isinstance(port, int) and port != 443 else "")
    return _PROVIDER_HOSTS.get(provider or "")


def llm_facts(attributes: JSONObject) -> LlmFacts:
    """The LLM call an LLM span's attributes describe (see the module docstring)."""
    response = _response(attributes)
    response_model = _text(attributes, _RESPONSE_MODEL)
    response_id = _text(attributes, _RESPONSE_ID)
    if response is not None:
        model_in_body, id_in_body = response.get("model"), response.get("id")
        response_model = response_model or (
            model_in_body if isinstance(model_in_body, str) else None
        )
        response_id = response_id or (id_in_body if isinstance(id_in_body, str) else None)
    ttft = attributes.get("gen_ai.response.time_to_first_chunk")
    provider = _text(attributes, _PROVIDER)
    return LlmFacts(
        model=_text(attributes, _REQUEST_MODEL) or response_model,
        response_model=response_model,
        usage=_usage(attributes),
        response_id=response_id,
        ttft_ms=round(ttft * 1000, 3) if isinstance(ttft, int | float) and ttft >= 0 else None,
        finish_reasons=_finish_reasons(attributes),
        session_id=_text(attributes, _SESSION),
        user_id=_text(attributes, _USER),
        provider=provider,
        upstream=_upstream(attributes, provider),
        response=response,
    )
