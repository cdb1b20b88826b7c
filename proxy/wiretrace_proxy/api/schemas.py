"""API shapes as pydantic models: the JSON Schemas of ``/api/openapi.json`` come from here.

Handlers build their answers from ``CallRecord.to_api()`` and plain dicts (fast, no model
per row); these models describe those answers, and
``tests/proxy/api/test_openapi_contract.py`` checks real responses against the schemas
generated from them, so a field added to a response without a line here fails a test.
``FeedbackIn`` is also how the feedback body is parsed.

Every object is closed (``extra="forbid"``, so ``additionalProperties: false``) except
where the data is the user's own (inputs, output, attributes, span events).
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StrictFloat,
    StrictInt,
    model_validator,
)
from pydantic.json_schema import models_json_schema

from wiretrace_proxy.callrecord import JSONObject, Kind, Status, UsageSource

REF = "#/components/schemas/{model}"


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Usage(Closed):
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    cached_tokens: int | None
    reasoning_tokens: int | None


class CallRecord(Closed):
    """One recorded call or SDK span; ``CallRecord.to_api()``."""

    id: str = Field(description="16 lowercase hex digits (a W3C span id)")
    project: str
    trace_id: str = Field(description="32 lowercase hex digits")
    parent_id: str | None
    kind: Kind
    op_name: str
    display_name: str | None
    started_at: str = Field(json_schema_extra={"format": "date-time"})
    ended_at: str | None = Field(json_schema_extra={"format": "date-time"})
    latency_ms: float | None
    ttft_ms: float | None
    overhead_ms: float | None
    status: Status
    http_status: int | None
    model: str | None
    response_model: str | None
    inputs: JsonValue
    output: JsonValue
    usage: Usage | None
    usage_source: UsageSource | None
    cost_usd: float | None
    error: dict[str, JsonValue] | None
    session_id: str | None
    user_id: str | None
    key_fingerprint: str | None
    attributes: dict[str, JsonValue]
    op_version: str | None
    model_version: str | None
    prompt_digest: str | None


class FeedbackSummary(Closed):
    up: int
    down: int
    notes: int
    scores: dict[str, float] = Field(description="score name -> mean score")


class CallListItem(CallRecord):
    feedback: FeedbackSummary | None = Field(description="null when the call has none")


class CallList(Closed):
    calls: list[CallListItem]
    next_cursor: str | None = Field(description="pass as cursor= for the next page")


class Feedback(Closed):
    id: str
    call_id: str
    thumbs: Literal["up", "down"] | None
    name: str | None
    score: float | None
    note: str | None
    author: str | None
    created_at: str = Field(json_schema_extra={"format": "date-time"})


class CallDetail(CallRecord):
    feedback: list[Feedback] = Field(description="oldest first")


class FeedbackList(Closed):
    feedback: list[Feedback]


class FeedbackIn(Closed):
    """At least one of thumbs, score, note; a score needs a name."""

    thumbs: Literal["up", "down"] | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200)
    score: StrictFloat | StrictInt | None = None
    note: str | None = Field(default=None, max_length=100_000)
    author: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _complete(self) -> FeedbackIn:
        if self.thumbs is None and self.score is None and self.note is None:
            raise ValueError("give at least one of thumbs, score, note")
        if self.score is not None and not math.isfinite(self.score):
            raise ValueError("score must be a finite number")
        if (self.score is None) != (self.name is None):
            raise ValueError("a score needs a name and a name needs a score")
        return self


class ErrorDetail(Closed):
    message: str
    param: str | None


class Error(Closed):
    error: ErrorDetail


class TraceNode(CallRecord):
    children: list[TraceNode]


class TraceSummary(Closed):
    calls: int
    llm_calls: int
    errors: int
    total_tokens: int
    started_at: str = Field(json_schema_extra={"format": "date-time"})
    duration_ms: float | None


class Trace(Closed):
    trace_id: str
    roots: list[TraceNode]
    summary: TraceSummary


class SpanEvent(BaseModel):
    """An SDK span event (``sdk/wiretrace/_exporter.py``); sent at start and at end."""

    model_config = ConfigDict(extra="allow")
    id: str = Field(pattern="^[0-9a-f]{16}$")
    trace_id: str = Field(pattern="^[0-9a-f]{32}$")
    parent_id: str | None = Field(default=None, pattern="^[0-9a-f]{16}$")
    op_name: str
    project: str | None = None
    status: Status = "running"
    started_at: str = Field(json_schema_extra={"format": "date-time"})
    ended_at: str | None = Field(default=None, json_schema_extra={"format": "date-time"})


class SpanBatch(BaseModel):
    spans: list[SpanEvent] = Field(max_length=10_000)


class SpansAccepted(Closed):
    accepted: int


class Op(Closed):
    project: str
    name: str
    versions: int
    latest_version: str
    calls: int
    last_called_at: str | None = Field(json_schema_extra={"format": "date-time"})


class OpList(Closed):
    ops: list[Op]


class OpVersion(Closed):
    project: str
    op_name: str
    version: int = Field(description="1, 2, ... in the order the server first saw them")
    digest: str
    source: str
    module: str | None
    qualname: str | None
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    calls: int


class OpVersionList(Closed):
    op_name: str
    versions: list[OpVersion]


class Model(Closed):
    project: str
    name: str
    versions: int


class ModelList(Closed):
    models: list[Model]


class ModelVersion(Closed):
    project: str
    name: str
    version: int
    digest: str
    attributes: JsonValue
    source: JsonValue
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    calls: int


class ModelVersionList(Closed):
    name: str
    versions: list[ModelVersion]


class Health(Closed):
    status: Literal["ok", "degraded"]
    reasons: list[str]
    """Why the status is ``degraded`` now (empty when ``ok``)."""
    pending: int
    written: int
    dropped: int
    lost: int
    storage_errors: int
    record_errors: int
    batches: int
    last_error: str | None
    storage_down: bool
    oldest_pending_s: float
    spool_pending: int
    spooled: int
    replayed: int
    spool_damaged: int


MODELS: tuple[type[BaseModel], ...] = (
    CallRecord,
    CallList,
    CallDetail,
    FeedbackIn,
    FeedbackList,
    Feedback,
    Error,
    Trace,
    SpanBatch,
    SpansAccepted,
    OpList,
    OpVersionList,
    ModelList,
    ModelVersionList,
    Health,
)
"""Models whose schemas ``/api/openapi.json`` publishes (with every model they use)."""


def component_schemas(models: tuple[type[BaseModel], ...] = MODELS) -> dict[str, JSONObject]:
    """``components.schemas``: each model and each model it refers to, by class name."""
    _, top = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    defs: dict[str, JSONObject] = top.get("$defs", {})
    return dict(sorted(defs.items()))


def ref(model: type[BaseModel]) -> JSONObject:
    return {"$ref": REF.format(model=model.__name__)}
