"""Shapes of the datasets and evaluations API: bodies parsed with them, answers described.

The request models parse and check the bodies (a bad field is a 400 naming it, see
``eval_bodies.explain``); the answer models are what ``/api/openapi.json`` publishes
(``OPENAPI_SCHEMAS``), and the contract test checks real answers against them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    Strict,
    StrictFloat,
)

from wiretrace_proxy.api.schemas import Closed, component_schemas
from wiretrace_proxy.callrecord import JSONObject
from wiretrace_proxy.storage.eval_runs import STATUSES

__all__ = ["OPENAPI_SCHEMAS", "also_answers"]


def _whole(value: object) -> object:
    """``5.0`` as ``5``: JSON Schema's ``integer`` is any whole number, however spelled."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


StrictInt = Annotated[int, BeforeValidator(_whole), Strict()]
"""A whole number (``5`` or ``5.0``); not a boolean, not a string."""

Name = Field(min_length=1, max_length=512)
Time = Field(json_schema_extra={"format": "date-time"})
Count = Field(ge=0)


class NameVersion(Closed):
    name: str = Name
    version: str = Name


class DatasetIn(Closed):
    name: str = Name
    project: str | None = None
    rows: list[dict[str, JsonValue]]


class DatasetFromCallsIn(BaseModel):
    """``name``, ``project``, ``limit`` and any ``/api/calls`` filter field."""

    model_config = ConfigDict(extra="allow")

    name: str = Name
    project: str | None = None
    limit: StrictInt = Field(default=1000, ge=1, le=100_000)


class DatasetVersion(Closed):
    name: str
    project: str
    version: str
    digest: str
    row_count: int
    created_at: str = Time


class DatasetListItem(Closed):
    name: str
    project: str
    latest_version: str
    row_count: int
    versions: int
    created_at: str = Time
    updated_at: str = Time


class DatasetList(Closed):
    datasets: list[DatasetListItem]


class DatasetVersionItem(Closed):
    version: str
    digest: str
    row_count: int
    created_at: str = Time
    source: JsonValue


class DatasetDetail(Closed):
    name: str
    project: str
    versions: list[DatasetVersionItem]


class DatasetRow(Closed):
    index: int
    values: dict[str, JsonValue]


class DatasetRows(Closed):
    name: str
    version: str
    offset: int
    limit: int
    total: int
    rows: list[DatasetRow]


class RunIn(Closed):
    id: str | None = Field(default=None, min_length=1, max_length=128)
    project: str | None = None
    evaluation: NameVersion
    dataset: NameVersion
    model: NameVersion
    scorers: list[NameVersion] = []
    trials: StrictInt = Field(default=1, ge=1)
    n_rows: StrictInt = Count
    config: dict[str, JsonValue] | None = None


class ModelError(BaseModel):
    """What the model raised (more fields than these are kept)."""

    model_config = ConfigDict(extra="allow")

    type: str | None = None
    message: str | None = None


class RowIn(Closed):
    row_index: StrictInt = Count
    trial: StrictInt = Field(default=0, ge=0)
    inputs: JsonValue = None
    output: JsonValue = None
    scores: dict[str, JsonValue] = {}
    scorer_errors: dict[str, str] = {}
    model_error: ModelError | None = None
    trace_id: str | None = None
    span_id: str | None = None
    latency_ms: StrictFloat | None = None


class RowsIn(Closed):
    rows: list[RowIn]


class RowsStored(Closed):
    stored: int


class FinishIn(Closed):
    status: Literal["finished", "failed"]
    summary: dict[str, JsonValue] | None = None


class EvalUsage(Closed):
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None


class EvalLatency(Closed):
    mean: float | None
    p50: float | None
    p95: float | None


RunStatus = Literal[STATUSES]  # type: ignore[valid-type]


class Run(Closed):
    id: str
    project: str
    evaluation: NameVersion
    dataset: NameVersion
    model: NameVersion
    scorers: list[NameVersion]
    trials: int
    config: dict[str, JsonValue] | None
    status: RunStatus
    n_rows: int
    n_done: int
    n_ok: int
    n_model_errors: int
    n_scorer_errors: int
    summary: dict[str, JsonValue]
    usage: EvalUsage
    cost_usd: float | None
    latency_ms: EvalLatency
    started_at: str = Time
    ended_at: str | None = Time
    last_report_at: str = Time


class RunList(Closed):
    runs: list[Run]
    total: int


class RunRow(Closed):
    row_index: int
    trial: int
    inputs: JsonValue
    output: JsonValue
    scores: dict[str, JsonValue]
    scorer_errors: dict[str, str]
    model_error: dict[str, JsonValue] | None
    trace_id: str | None
    span_id: str | None
    latency_ms: float | None
    usage: EvalUsage
    cost_usd: float | None
    call_ids: list[str]


class RunRows(Closed):
    rows: list[RunRow]
    total: int


class PairedDifference(Closed):
    n: int
    mean_diff: float | None
    ci_low: float | None
    ci_high: float | None


class Flips(Closed):
    pass_to_fail: int
    fail_to_pass: int


class ComparedMetric(Closed):
    metric: str
    kind: Literal["boolean", "number"]
    values: dict[str, float | None]
    deltas: dict[str, float | None]
    paired: dict[str, PairedDifference]
    flips: dict[str, Flips] | None


class BootstrapMethod(Closed):
    resamples: int
    seed: int
    confidence: float


class EvalComparison(Closed):
    baseline: str
    runs: list[str]
    metrics: list[ComparedMetric]
    warnings: list[str]
    bootstrap: BootstrapMethod


OPENAPI_SCHEMAS: dict[str, JSONObject] = component_schemas(
    (
        DatasetIn,
        DatasetFromCallsIn,
        DatasetVersion,
        DatasetList,
        DatasetDetail,
        DatasetRows,
        RunIn,
        RowsIn,
        RowsStored,
        FinishIn,
        Run,
        RunList,
        RunRows,
        EvalComparison,
    )
)
"""Component schemas for ``/api/openapi.json`` (the modules serving these routes export
this as their own ``OPENAPI_SCHEMAS``)."""


def also_answers(op: JSONObject, status: int, description: str, schema: JSONObject) -> JSONObject:
    """``op`` (from ``openapi.operation``) with one more documented answer."""
    responses = op["responses"]
    assert isinstance(responses, dict)
    responses[str(status)] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    return op
