"""Prompt versions inferred from traffic: a digest of what a developer authored, per call.

Apps that use no SDK still have prompt versions: the system prompt, the tools and the
parameters they send are the "template"; the user's words are the data. ``prompt_template``
picks the template out of a request body and ``prompt_digest`` names it (sha256 of the
canonical JSON, first 16 hex digits), so calls group into versions and a change to the
system prompt, a tool or the temperature shows up as a new version. Pure and allocation-light:
it runs on the writer thread for every recorded call.

What is the template, per endpoint:

- ``/v1/chat/completions``: system and developer messages (role, content, name, in order),
  ``tools``, ``functions``, ``response_format`` and the parameters in ``CHAT_PARAMS``.
  Never user, assistant or tool turns.
- ``/v1/responses``: ``instructions``, system/developer items of ``input``, ``tools``,
  ``text.format``, the stored ``prompt`` reference (``id`` and ``version``, not its
  ``variables``) and ``RESPONSES_PARAMS``. A string ``input`` is the user's turn.
- ``/v1/completions``: parameters only. The legacy ``prompt`` is one string in which the
  template and the user's data are already merged; digesting it would make nearly every
  call its own version, so only a parameter change makes a new version there.

Per-request fields are never part of it: ``user``, ``metadata``, ``store``, ``stream``,
``stream_options``, ``service_tier``, ``prediction``, ``previous_response_id``. A null
parameter counts as absent and ``1.0`` equals ``1``, so equivalent requests agree.
A system prompt with per-call data in it (today's date, retrieved context) is honestly a
new version each call: the digest cannot tell authored text from data inside one string.
"""

from __future__ import annotations

import difflib
import hashlib
import json

from wiretrace_proxy.callrecord import JSON, JSONObject
from wiretrace_proxy.endpoints import Endpoint

__all__ = [
    "canonical_json",
    "changed_keys",
    "diff_templates",
    "prompt_digest",
    "prompt_template",
]

CHAT_PARAMS = (
    "model",
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "reasoning_effort",
    "n",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "tool_choice",
    "parallel_tool_calls",
    "function_call",
    "modalities",
    "audio",
    "verbosity",
    "web_search_options",
)
RESPONSES_PARAMS = (
    "model",
    "temperature",
    "top_p",
    "max_output_tokens",
    "reasoning",
    "tool_choice",
    "parallel_tool_calls",
    "max_tool_calls",
    "top_logprobs",
    "truncation",
)
COMPLETIONS_PARAMS = (
    "model",
    "temperature",
    "top_p",
    "max_tokens",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "n",
    "best_of",
    "logit_bias",
    "logprobs",
    "echo",
)
TEMPLATE_ROLES = frozenset({"system", "developer"})


def prompt_digest(endpoint: Endpoint, request: JSON) -> str | None:
    """16 hex digits naming the request's template; None if the endpoint has none."""
    template = prompt_template(endpoint, request)
    if not template:
        return None
    return hashlib.sha256(canonical_json(template).encode()).hexdigest()[:16]


def prompt_template(endpoint: Endpoint, request: JSON) -> JSONObject:
    """Exactly the parts of ``request`` that ``prompt_digest`` digests ({} if none).

    A body without ``model`` (every endpoint here requires one) is not a request that can
    be versioned: a raw, unparsed body is recorded as ``{"raw": ...}``."""
    if not isinstance(request, dict) or "model" not in request:
        return {}
    if endpoint is Endpoint.CHAT:
        return _chat(request)
    if endpoint is Endpoint.RESPONSES:
        return _responses(request)
    if endpoint is Endpoint.COMPLETIONS:
        return _compact({"endpoint": "completions", "params": _params(request, COMPLETIONS_PARAMS)})
    return {}


def _chat(request: JSONObject) -> JSONObject:
    messages = request.get("messages")
    return _compact(
        {
            "endpoint": "chat.completions",
            "messages": _template_messages(messages) if isinstance(messages, list) else None,
            "tools": request.get("tools"),
            "functions": request.get("functions"),
            "response_format": request.get("response_format"),
            "params": _params(request, CHAT_PARAMS),
        }
    )


def _responses(request: JSONObject) -> JSONObject:
    items = request.get("input")
    text = request.get("text")
    prompt = request.get("prompt")
    params = _params(request, RESPONSES_PARAMS)
    if isinstance(text, dict) and text.get("verbosity") is not None:
        params["verbosity"] = text["verbosity"]
    return _compact(
        {
            "endpoint": "responses",
            "instructions": request.get("instructions"),
            "messages": _template_messages(items) if isinstance(items, list) else None,
            "prompt": _compact({k: prompt.get(k) for k in ("id", "version")})
            if isinstance(prompt, dict)
            else None,
            "tools": request.get("tools"),
            "format": text.get("format") if isinstance(text, dict) else None,
            "params": params,
        }
    )


def _template_messages(messages: list[JSON]) -> list[JSON] | None:
    kept: list[JSON] = []
    for message in messages:
        if isinstance(message, dict) and message.get("role") in TEMPLATE_ROLES:
            kept.append({k: message[k] for k in ("role", "content", "name") if k in message})
    return kept or None


def _params(request: JSONObject, names: tuple[str, ...]) -> JSONObject:
    params: JSONObject = {}
    for name in names:
        value = request.get(name)
        if value is None:
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 1.0 and 1 are the same setting
        params[name] = value
    return params


def _compact(parts: dict[str, JSON]) -> JSONObject:
    return {k: v for k, v in parts.items() if v is not None and v != {}}


def canonical_json(value: JSON) -> str:
    """Sorted keys, no spaces, ASCII: the same template always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _pretty(value: JSON) -> list[str]:
    text = json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False)
    return text.splitlines(keepends=True)


def diff_templates(old: JSONObject, new: JSONObject, old_name: str, new_name: str) -> str:
    """A unified diff of two templates' canonical pretty JSON (difflib)."""
    lines = difflib.unified_diff(_pretty(old), _pretty(new), old_name, new_name, n=3)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def changed_keys(old: JSONObject, new: JSONObject) -> list[str]:
    """Template parts that differ (``params.<name>`` for parameters), sorted."""
    changed: set[str] = set()
    for key in old.keys() | new.keys():
        before, after = old.get(key), new.get(key)
        if key == "params" and isinstance(before or {}, dict) and isinstance(after or {}, dict):
            b = before if isinstance(before, dict) else {}
            a = after if isinstance(after, dict) else {}
            changed |= {f"params.{n}" for n in b.keys() | a.keys() if b.get(n) != a.get(n)}
        elif before != after:
            changed.add(key)
    return sorted(changed)
