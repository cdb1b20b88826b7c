"""The call record: the one shape every recorded call takes before storage.

A proxied call and an SDK span alike become a ``CallRecord`` (docs/architecture.md, "The
call record"). It is plain data: the recorder builds it off the request path, the writer
stores it, and the API serialises it with ``to_api``. Only the identity, the start and the
status are required; everything else a call may not have defaults to None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, TypeAlias, get_args

JSON: TypeAlias = dict[str, "JSON"] | list["JSON"] | str | int | float | bool | None
JSONObject: TypeAlias = dict[str, JSON]

Status = Literal["ok", "error", "cancelled", "running"]
STATUSES: tuple[Status, ...] = get_args(Status)
"""Every status a record can have, in one place (filters, span ingest, the API schema)."""
UsageSource = Literal["upstream", "injected", "estimated"]
Kind = Literal["llm", "op", "tool", "agent", "chain", "retriever", "embedding"]
"""``llm`` for a model call (proxied, or an LLM span ingested over OTLP), ``op`` for an SDK
op or any other span; the rest are the kinds of ingested spans that say what they are."""
KINDS: tuple[Kind, ...] = get_args(Kind)

USAGE_KEYS = (
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cached_tokens",
    "reasoning_tokens",
)


@dataclass(slots=True)
class Usage:
    """Token counts in one vocabulary for every endpoint (Responses' input/output included)."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None

    def to_dict(self) -> dict[str, int | None]:
        return {key: getattr(self, key) for key in USAGE_KEYS}


@dataclass(slots=True)
class CallRecord:
    """One recorded call, proxied or SDK span alike."""

    id: str
    """16 lowercase hex digits: the record's span id (so SDK spans can parent proxied calls)."""
    project: str
    trace_id: str
    """32 lowercase hex digits (W3C trace id)."""
    op_name: str
    """``openai.chat.completions.create`` and friends, or an SDK op's name."""
    started_at: datetime
    """Timezone-aware UTC."""
    status: Status
    parent_id: str | None = None
    display_name: str | None = None
    ended_at: datetime | None = None
    latency_ms: float | None = None
    ttft_ms: float | None = None
    """Time to first response body byte for streams; None when not streamed."""
    overhead_ms: float | None = None
    """Time the proxy itself added: total minus time spent waiting on the upstream."""
    http_status: int | None = None
    model: str | None = None
    """Model requested (falls back to the model the upstream answered with)."""
    response_model: str | None = None
    inputs: JSON = None
    """The request body: parsed JSON, or ``{"raw": ..., "content_type": ...}``."""
    output: JSON = None
    """What the app would have received without streaming (reassembled), or the raw body."""
    usage: Usage | None = None
    usage_source: UsageSource | None = None
    cost_usd: float | None = None
    error: JSONObject | None = None
    """``{"message", "type", "code"}`` when status is error or cancelled."""
    session_id: str | None = None
    user_id: str | None = None
    key_fingerprint: str | None = None
    """Salted hash + last 4 characters of the API key; never the key itself."""
    attributes: JSONObject = field(default_factory=dict)
    """``session_id``, ``user_id``, ``properties``, ``request`` (method, path, headers...), ..."""
    kind: Kind = "llm"
    op_version: str | None = None
    """Digest of the SDK op's source (None for proxied calls)."""
    model_version: str | None = None
    """Digest of the ``wiretrace.Model`` configuration whose method this span ran."""
    prompt_digest: str | None = None
    """Digest of the prompt template (system/developer messages, tools, parameters)."""

    def to_api(self) -> JSONObject:
        """The record as the JSON API returns it (docs/architecture.md, "The call record")."""
        return {
            "id": self.id,
            "project": self.project,
            "trace_id": self.trace_id,
            "parent_id": self.parent_id,
            "kind": self.kind,
            "op_name": self.op_name,
            "display_name": self.display_name,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "latency_ms": self.latency_ms,
            "ttft_ms": self.ttft_ms,
            "overhead_ms": self.overhead_ms,
            "status": self.status,
            "http_status": self.http_status,
            "model": self.model,
            "response_model": self.response_model,
            "inputs": self.inputs,
            "output": self.output,
            "usage": dict(self.usage.to_dict()) if self.usage else None,
            "usage_source": self.usage_source,
            "cost_usd": self.cost_usd,
            "error": self.error,
            "session_id": self.session_id,
            "user_id": self.user_id,
            "key_fingerprint": self.key_fingerprint,
            "attributes": self.attributes,
            "op_version": self.op_version,
            "model_version": self.model_version,
            "prompt_digest": self.prompt_digest,
        }
