"""Token usage: the upstream's numbers in one vocabulary, else an estimate that never waits.

``normalise_usage`` maps chat/completions (``prompt_tokens`` ...), Responses
(``input_tokens`` ...), embeddings and Assistants run usage onto ``record.Usage``.

``estimate_usage`` counts tokens when the upstream reported none (a stream without
``include_usage``, a cut stream). It never waits for a tokenizer: tiktoken may have to
download its files, so encodings load in the background (``tokenizers.Tokenizers``, re-exported
here); until the model's encoding has loaded, or if it failed, the estimate is ``chars/4``,
returned at once and flagged in ``Estimate.method``.

The chat prompt formula is OpenAI's published one (cookbook "How to count tokens with
tiktoken"): 3 tokens per message, +1 for a ``name``, +3 to prime the reply. Tool schemas and
images are counted roughly (the cookbook's tools formula, 85 tokens per image), so
estimates are estimates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from wiretrace_proxy.callrecord import JSON, Usage
from wiretrace_proxy.record.tokenizers import TOKENIZERS, Tokenizers

__all__ = [
    "MAX_TOKENS",
    "Estimate",
    "Tokenizers",
    "TOKENIZERS",
    "encoding_for_model",
    "estimate_usage",
    "normalise_usage",
]

ROUGH = "chars/4"
"""``Estimate.method`` when no tokenizer was ready."""


MAX_TOKENS = 2**31 - 1
"""The largest token count taken from an upstream (the token columns are 32-bit integers
on PostgreSQL; no call comes near it)."""


def _int(value: JSON) -> int | None:
    """A token count, if ``value`` is one: an integer from 0 to ``MAX_TOKENS``."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKENS:
        return value
    return None


def _detail(raw: dict[str, JSON], keys: tuple[str, ...], field: str) -> int | None:
    for key in keys:
        details = raw.get(key)
        if isinstance(details, dict) and _int(details.get(field)) is not None:
            return _int(details.get(field))
    return None


def normalise_usage(raw: JSON) -> Usage | None:
    """Upstream usage in wiretrace's vocabulary; None if ``raw`` holds no token count.

    A count that is not a whole number from 0 to ``MAX_TOKENS`` (a negative, a float, a
    string, an absurd size) is dropped, as if the upstream had not sent it: with none left
    the result is None, so the recorder estimates and says ``usage_source: estimated``
    rather than storing a count nobody can use. ``total_tokens`` is filled from prompt +
    completion when the upstream left it out (or sent an unusable one). Assistants runs
    spell ``prompt_token_details`` without the s; both spellings are read.
    """
    if not isinstance(raw, dict):
        return None
    prompt = _int(raw.get("prompt_tokens"))
    prompt = prompt if prompt is not None else _int(raw.get("input_tokens"))
    completion = _int(raw.get("completion_tokens"))
    completion = completion if completion is not None else _int(raw.get("output_tokens"))
    total = _int(raw.get("total_tokens"))
    if total is None and prompt is not None and completion is not None:
        total = _int(prompt + completion)
    usage = Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=total,
        cached_tokens=_detail(
            raw,
            ("prompt_tokens_details", "input_tokens_details", "prompt_token_details"),
            "cached_tokens",
        ),
        reasoning_tokens=_detail(
            raw, ("completion_tokens_details", "output_tokens_details"), "reasoning_tokens"
        ),
    )
    return None if all(v is None for v in usage.to_dict().values()) else usage


# --- estimates -------------------------------------------------------------------------------

_O200K = ("gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "gpt-oss")
_CL100K = ("gpt-4", "gpt-3.5", "gpt-35", "text-embedding-3", "text-embedding-ada")
_IMAGE_TOKENS = 85
"""A low-detail image's cost; a floor for any image part."""
_TOOL_START = 7
_TOOL_START_CL100K = 10
"""Tokens opening each function definition (cookbook: gpt-4o family / gpt-4 and 3.5)."""

Counter = Callable[[str], int]


@dataclass(frozen=True, slots=True)
class Estimate:
    """Estimated usage and how it was counted (``tiktoken:<encoding>`` or ``chars/4``)."""

    usage: Usage
    method: str


def encoding_for_model(model: str | None) -> str:
    """tiktoken encoding for a model name (``ft:`` and ``provider/`` prefixes ignored).

    o200k_base for the gpt-4o / 4.1 / 4.5 / 5 and o-series families, cl100k_base for
    gpt-4, gpt-3.5 and the text-embedding models, o200k_base for anything unknown.
    """
    name = (model or "").strip().lower().removeprefix("ft:").rsplit("/", 1)[-1]
    if name.startswith(_O200K):
        return "o200k_base"
    if name.startswith(_CL100K):
        return "cl100k_base"
    return "o200k_base"


def _rough(text: str) -> int:
    return (len(text) + 3) // 4


def estimate_usage(
    model: str | None, request: JSON, output: JSON, tokenizers: Tokenizers | None = None
) -> Estimate:
    """Count prompt and completion tokens from the request and the (reassembled) output.

    Returns at once: with the model's tiktoken encoding if it has loaded, else ``chars/4``
    (and the first call starts loading the encoding for next time).
    """
    name = encoding_for_model(model)
    encoder = (tokenizers or TOKENIZERS).get(name)
    if encoder is None:
        return _estimate(request, output, _rough, ROUGH, name)
    encode = encoder.encode_ordinary
    return _estimate(request, output, lambda text: len(encode(text)), f"tiktoken:{name}", name)


def _estimate(request: JSON, output: JSON, count: Counter, method: str, encoding: str) -> Estimate:
    prompt = _prompt_tokens(request, count)
    if isinstance(request, dict):
        per_tool = _TOOL_START_CL100K if encoding == "cl100k_base" else _TOOL_START
        for key in ("tools", "functions"):
            prompt += _tools_tokens(request.get(key), count, per_tool)
    completion = _completion_tokens(output, count)
    return Estimate(Usage(prompt, completion, prompt + completion), method)


def _prompt_tokens(request: JSON, count: Counter) -> int:
    """Chat ``messages``, Responses ``instructions``/``input``, completions ``prompt``."""
    if not isinstance(request, dict):
        return 0
    total = 0
    messages = request.get("messages")
    if isinstance(messages, list):
        total += sum(_message(m, count) for m in messages) + 3
    instructions = request.get("instructions")
    if isinstance(instructions, str):
        total += _message({"role": "system", "content": instructions}, count)
    given = request.get("input")
    if isinstance(given, str):
        given = [{"role": "user", "content": given}]
    if isinstance(given, list):
        total += sum(_message(m, count) for m in given) + 3
    total += _prompt(request.get("prompt"), count)
    return total


def _tools_tokens(tools: JSON, count: Counter, per_tool: int) -> int:
    """Function tool definitions, by the OpenAI cookbook's formula ("How to count tokens
    for chat completions API calls", tools section): ``name:description`` per function and
    ``key:type:description`` per top-level parameter, plus fixed overheads. Nested schemas
    and non-function tools are not counted."""
    if not isinstance(tools, list) or not tools:
        return 0
    total = 12
    for tool in tools:
        inner = tool.get("function") if isinstance(tool, dict) else None
        function = inner if isinstance(inner, dict) else tool
        if not isinstance(function, dict):
            continue
        total += per_tool + count(f"{_str(function.get('name'))}:{_desc(function)}")
        params = function.get("parameters")
        props = params.get("properties") if isinstance(params, dict) else None
        if not isinstance(props, dict) or not props:
            continue
        total += 3
        for key, prop in props.items():
            spec = prop if isinstance(prop, dict) else {}
            total += 3 + count(f"{key}:{_str(spec.get('type'))}:{_desc(spec)}")
            enum = spec.get("enum")
            if isinstance(enum, list):
                total += sum(3 + count(str(item)) for item in enum) - 3
    return total


def _str(value: JSON) -> str:
    return value if isinstance(value, str) else ""


def _desc(spec: dict[str, JSON]) -> str:
    return _str(spec.get("description")).removesuffix(".")


def _prompt(prompt: JSON, count: Counter) -> int:
    """Legacy completions ``prompt``: text, texts, token ids or lists of token ids."""
    if isinstance(prompt, str):
        return count(prompt)
    if isinstance(prompt, int) and not isinstance(prompt, bool):
        return 1
    if isinstance(prompt, list):
        return sum(_prompt(p, count) for p in prompt)
    return 0


def _message(message: JSON, count: Counter) -> int:
    """One chat message or Responses input item: 3 + its texts (+1 for a ``name``)."""
    if not isinstance(message, dict):
        return _content(message, count)
    if "role" not in message:
        return _texts(message, count, ("name", "arguments", "output", "input", "text"))
    total = 3
    for key, value in message.items():
        if key == "content":
            total += _content(value, count)
        elif key == "tool_calls" and isinstance(value, list):
            total += sum(_tool_call(call, count) for call in value)
        elif key == "function_call":
            total += _tool_call({"function": value}, count)
        elif isinstance(value, str):
            total += count(value) + (1 if key == "name" else 0)
    return total


def _content(content: JSON, count: Counter) -> int:
    """A content string or a list of parts (text counted, images at a flat rate)."""
    if isinstance(content, str):
        return count(content)
    if not isinstance(content, list):
        return 0
    total = 0
    for part in content:
        if isinstance(part, str):
            total += count(part)
        elif isinstance(part, dict):
            if str(part.get("type", "")) in ("image_url", "input_image"):
                total += _IMAGE_TOKENS
            total += _texts(part, count, ("text", "refusal"))
    return total


def _texts(obj: dict[str, JSON], count: Counter, keys: tuple[str, ...]) -> int:
    return sum(count(v) for k in keys if isinstance(v := obj.get(k), str))


def _tool_call(call: JSON, count: Counter) -> int:
    """A tool call's function (or custom tool) name and arguments."""
    if not isinstance(call, dict):
        return 0
    total = 0
    for key in ("function", "custom"):
        inner = call.get(key)
        if isinstance(inner, dict):
            total += _texts(inner, count, ("name", "arguments", "input"))
    return total


def _completion_tokens(output: JSON, count: Counter) -> int:
    """Text the model produced: chat/completions choices, or Responses output items."""
    if not isinstance(output, dict):
        return 0
    total = 0
    choices = output.get("choices")
    for choice in choices if isinstance(choices, list) else []:
        if not isinstance(choice, dict):
            continue
        total += _texts(choice, count, ("text",))
        message = choice.get("message")
        if isinstance(message, dict):
            total += _texts(message, count, ("content", "refusal"))
            calls = message.get("tool_calls")
            total += sum(_tool_call(c, count) for c in calls) if isinstance(calls, list) else 0
            total += _tool_call({"function": message.get("function_call")}, count)
    items = output.get("output")
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            total += _texts(item, count, ("name", "arguments", "input"))
            total += _content(item.get("content"), count) + _content(item.get("summary"), count)
    return total
