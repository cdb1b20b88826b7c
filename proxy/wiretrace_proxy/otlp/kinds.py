"""Which kind of record a span is: an LLM call, a tool, an agent, a chain, a retriever,
an embedding, or a plain op.

Precedence, first hit wins (as Phoenix and Langfuse read them):

1. ``openinference.span.kind`` (OpenInference: ``LLM``, ``TOOL``, ``AGENT``, ...);
2. ``gen_ai.operation.name`` (GenAI semantic conventions: ``chat``, ``execute_tool``, ...);
3. ``traceloop.span.kind`` (OpenLLMetry workflows: ``workflow``, ``task``, ``agent``, ``tool``);
4. ``llm.request.type`` (OpenLLMetry up to 0.54: ``chat``, ``completion``, ``embedding``);
5. a requested model (``gen_ai.request.model``, ``llm.model_name``) or ``gen_ai.system``:
   an LLM call.

Anything else is an ``op``, like an SDK span.
"""

from __future__ import annotations

from wiretrace_proxy.callrecord import JSONObject, Kind

__all__ = ["kind_of"]

_OPENINFERENCE: dict[str, Kind] = {
    "LLM": "llm",
    "EMBEDDING": "embedding",
    "CHAIN": "chain",
    "RETRIEVER": "retriever",
    "RERANKER": "retriever",
    "TOOL": "tool",
    "AGENT": "agent",
}
_OPERATIONS: dict[str, Kind] = {
    "chat": "llm",
    "text_completion": "llm",
    "generate_content": "llm",
    "responses": "llm",
    "embeddings": "embedding",
    "execute_tool": "tool",
    "create_agent": "agent",
    "invoke_agent": "agent",
    "invoke_workflow": "chain",
    "retrieval": "retriever",
}
_TRACELOOP: dict[str, Kind] = {
    "workflow": "chain",
    "task": "chain",
    "agent": "agent",
    "tool": "tool",
}
_REQUEST_TYPES: dict[str, Kind] = {
    "chat": "llm",
    "completion": "llm",
    "embedding": "embedding",
    "rerank": "retriever",
}
_MODEL_KEYS = ("gen_ai.request.model", "llm.model_name", "llm.request.model_name", "gen_ai.system")


def kind_of(attributes: JSONObject) -> Kind:
    """The record kind a span's attributes describe (see the module docstring)."""
    for key, table in (
        ("openinference.span.kind", _OPENINFERENCE),
        ("gen_ai.operation.name", _OPERATIONS),
        ("traceloop.span.kind", _TRACELOOP),
        ("llm.request.type", _REQUEST_TYPES),
    ):
        value = attributes.get(key)
        if isinstance(value, str):
            found = table.get(value if key == "openinference.span.kind" else value.lower())
            if found is None and key == "openinference.span.kind":
                found = table.get(value.upper())
            if found is not None:
                return found
    if any(isinstance(attributes.get(key), str) for key in _MODEL_KEYS):
        return "llm"
    return "op"
