"""Database tables: one ``calls`` table that every recorded call and SDK span lands in.

The table mirrors ``CallRecord`` with usage flattened into token columns, so the UI can
filter, sort and aggregate on plain columns. Everything here is portable between SQLite and
PostgreSQL: JSON columns are ``JSON`` with a ``JSONB`` variant on PostgreSQL, and times are
stored through ``UTCDateTime`` so that the same instant always has the same stored form
(SQLite keeps datetimes as fixed-width text, so ordering is exact only if every value is
UTC; PostgreSQL keeps ``timestamptz``). Indexes follow what the UI filters and sorts by.

Only modules of ``storage/`` read or write these tables; API shapes are separate
(``api/schemas.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

from wiretrace_proxy.storage.key_order import KeyOrderType

__all__ = [
    "CALLS",
    "CALL_PROPERTIES",
    "DATASETS",
    "DATASET_ROWS",
    "DATASET_VERSIONS",
    "EVALUATIONS",
    "EVAL_RUNS",
    "EVAL_RUN_ROWS",
    "FEEDBACK",
    "JSON_TYPE",
    "PROPERTY_KEY_LIMIT",
    "PROPERTY_VALUE_LIMIT",
    "REVOKED_SESSIONS",
    "SERVER_SETTINGS",
    "Call",
    "Feedback",
    "ModelVersion",
    "OpVersion",
    "UTCDateTime",
]

JSON_TYPE = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
"""A JSON column: ``JSONB`` on PostgreSQL, JSON text elsewhere; Python ``None`` is SQL NULL."""


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC and always read back as aware UTC.

    Naive values are refused: a naive time has no meaning once stored.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite returns what it was given (UTC) without a zone
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Call(SQLModel, table=True):
    """One recorded call (proxied) or span (SDK); see ``record.CallRecord`` for meanings."""

    __tablename__ = "calls"
    __table_args__ = (
        sa.Index("ix_calls_project_started_at", "project", "started_at"),
        sa.Index("ix_calls_trace_id_started_at", "trace_id", "started_at"),
        sa.Index("ix_calls_parent_id", "parent_id"),
        sa.Index("ix_calls_op_name_started_at", "op_name", "started_at"),
        sa.Index("ix_calls_model_started_at", "model", "started_at"),
        sa.Index("ix_calls_status_started_at", "status", "started_at"),
        sa.Index("ix_calls_op_name_op_version", "op_name", "op_version"),
        sa.Index("ix_calls_prompt_digest_started_at", "prompt_digest", "started_at"),
        sa.Index("ix_calls_latency_ms", "latency_ms"),
        sa.Index("ix_calls_total_tokens", "total_tokens"),
        sa.Index("ix_calls_cost_usd", "cost_usd"),
        sa.Index("ix_calls_started_at_id", "started_at", "id"),
        sa.Index("ix_calls_ttft_ms", "ttft_ms"),
        sa.Index("ix_calls_prompt_tokens", "prompt_tokens"),
        sa.Index("ix_calls_completion_tokens", "completion_tokens"),
        sa.Index("ix_calls_model_latency_ms", "model", "latency_ms"),
        sa.Index("ix_calls_model_cost_usd", "model", "cost_usd"),
        sa.Index("ix_calls_op_name_id", "op_name", "id"),
        sa.Index("ix_calls_model_id", "model", "id"),
        sa.Index("ix_calls_status_id", "status", "id"),
        sa.Index("ix_calls_session_id_id", "session_id", "id"),
        sa.Index("ix_calls_user_id_id", "user_id", "id"),
        sa.Index("ix_calls_merge_key_started_at", "merge_key", "started_at"),
    )

    id: str = Field(primary_key=True)
    """16 lowercase hex digits (a W3C span id)."""
    project: str
    kind: str = "llm"
    """``llm`` for a model call, ``op`` for an SDK op."""
    trace_id: str
    """32 lowercase hex digits."""
    parent_id: str | None = None
    op_name: str
    display_name: str | None = None
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    latency_ms: float | None = None
    ttft_ms: float | None = None
    overhead_ms: float | None = None
    status: str
    """``ok``, ``error``, ``cancelled`` or ``running``."""
    http_status: int | None = None
    model: str | None = None
    response_model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None
    usage_source: str | None = None
    cost_usd: float | None = None
    session_id: str | None = None
    user_id: str | None = None
    key_fingerprint: str | None = None
    # JSON columns are typed ``object``: pydantic cannot build a schema for the recursive
    # ``callrecord.JSON`` alias, and rows are read through ``rows.row_to_record`` anyway.
    inputs: object = Field(default=None, sa_type=JSON_TYPE, nullable=True)
    output: object = Field(default=None, sa_type=JSON_TYPE, nullable=True)
    error: object = Field(default=None, sa_type=JSON_TYPE, nullable=True)
    attributes: object = Field(default=None, sa_type=JSON_TYPE, nullable=True)
    op_version: str | None = None
    """Digest of the SDK op's source that made this span (``op_versions.digest``)."""
    model_version: str | None = None
    """Digest of the ``wiretrace.Model`` configuration whose method made this span."""
    merge_key: str | None = None
    """How an ingested LLM span and the proxied call of the same request find each other:
    the call's upstream response id (``chatcmpl-...``), ``span:`` + the span's
    ``gen_ai.response.id`` (``rows.merge_key_of``, ``storage/llm_merge.py``)."""
    prompt_digest: str | None = None
    """Digest of a call's prompt template: system/developer messages, tools and parameters
    (not the user turn), so calls from apps without the SDK group into prompt versions."""
    inputs_key_order: object = Field(default=None, sa_type=KeyOrderType, nullable=True)
    """The request body's key order on PostgreSQL, whose ``JSONB`` sorts keys; NULL on
    SQLite (``key_order.py``): a dataset made from calls gives back the body as sent."""


class OpVersion(SQLModel, table=True):
    """One version of an SDK op: its source as it was, named by the source's digest."""

    __tablename__ = "op_versions"

    project: str = Field(primary_key=True)
    op_name: str = Field(primary_key=True)
    digest: str = Field(primary_key=True)
    source: str
    module: str | None = None
    qualname: str | None = None
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    """When the server first saw this version."""


class ModelVersion(SQLModel, table=True):
    """One version of a ``wiretrace.Model``: attribute values and methods' source."""

    __tablename__ = "model_versions"

    project: str = Field(primary_key=True)
    name: str = Field(primary_key=True)
    digest: str = Field(primary_key=True)
    attributes: object = Field(default=None, sa_type=JSON_TYPE, nullable=True)
    source: object = Field(default=None, sa_type=JSON_TYPE, nullable=True)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class Feedback(SQLModel, table=True):
    """A person's or a script's judgement of one call: thumbs, a named score, a note."""

    __tablename__ = "feedback"
    __table_args__ = (sa.Index("ix_feedback_call_id", "call_id"),)

    id: str = Field(primary_key=True)
    call_id: str
    """The call judged (no foreign key: feedback may arrive before the call is written)."""
    thumbs: int | None = None
    """1 for up, -1 for down."""
    name: str | None = None
    """Name of a score, e.g. ``accuracy``."""
    score: float | None = None
    note: str | None = None
    author: str | None = None
    """Who gave it (free text: a user id, an evaluator's name)."""
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


CALLS: sa.Table = cast(sa.Table, Call.__table__)  # type: ignore[attr-defined]
"""The ``calls`` table as a Core ``Table`` (the queries use Core, not the ORM)."""
FEEDBACK: sa.Table = cast(sa.Table, Feedback.__table__)  # type: ignore[attr-defined]
"""The ``feedback`` table as a Core ``Table``."""

CALL_PROPERTIES = sa.Table(
    "call_properties",
    SQLModel.metadata,
    sa.Column("call_id", sa.String(), nullable=False),
    sa.Column("key", sa.String(), nullable=False),
    sa.Column("value", sa.String(), nullable=True),
    sa.Index("ix_call_properties_key_value_call_id", "key", "value", "call_id"),
    sa.Index("ix_call_properties_call_id_key_value", "call_id", "key", "value"),
)
"""One row per property of each call: the key lowercased, the value as text, as
``property.<key>`` filters and groups read them. Written by triggers on ``calls`` (migration
0012), never by Python, so every insert, update and delete of a call keeps it in step; a
plain Core table (no primary key: a call may hold two keys equal once lowercased)."""
PROPERTY_KEY_LIMIT = 128
PROPERTY_VALUE_LIMIT = 400
"""A longer key is not in ``call_properties``, a longer value is stored as NULL (0012's
limits): such properties are read from the JSON."""


class RollupCell(SQLModel):
    """The dimensions of a rollup row: a UTC hour and the call's grouping columns."""

    hour: str = Field(primary_key=True)
    """UTC hour of ``started_at``, ``YYYY-MM-DD HH`` (its first 13 characters as stored)."""
    project: str = Field(primary_key=True)
    kind: str = Field(primary_key=True)
    model: str = Field(primary_key=True)
    op_name: str = Field(primary_key=True)
    op_version: str = Field(primary_key=True)
    status: str = Field(primary_key=True)


class CallRollup(RollupCell, table=True):
    """Per-hour sums of calls, kept in step with ``calls`` on both databases: inserts are
    added by ``storage.rollup_writes``, updates and deletes by triggers (per row on SQLite,
    per statement on PostgreSQL, 0015). Exact, but for cost sums on PostgreSQL, added in
    commit order (equal to a recount up to rounding).

    One row per UTC hour and combination of the dimensions below, so ``/api/stats`` over a
    million calls reads thousands of rows instead of scanning every call (see
    ``storage.rollups``). ``''`` stands for NULL in ``model`` and ``op_version``: primary
    key columns cannot be NULL, and NULLs would never meet in ``ON CONFLICT``.
    """

    __tablename__ = "call_rollups"
    __table_args__ = {"sqlite_with_rowid": False}

    calls: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    cost_usd: float
    """Sum of the known costs."""
    cost_calls: int
    """How many of ``calls`` have a cost (the rest were not priced)."""


class CallRollupBucket(RollupCell, table=True):
    """Per-hour latency and TTFT histograms on the dimensions of ``CallRollup``.

    Buckets are logarithmic, eight to an octave (``storage.rollups.BOUNDS``): with many
    calls a percentile read from them is within one bucket (9.05%) of the exact value.
    """

    __tablename__ = "call_rollup_buckets"
    __table_args__ = {"sqlite_with_rowid": False}

    metric: str = Field(primary_key=True)
    """``latency_ms`` or ``ttft_ms``."""
    bucket: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    n: int
    """How many calls of the cell fell into the bucket."""


# --- evaluations: datasets, runs and their rows ---------------------------------------

ORDERED_JSON = sa.JSON(none_as_null=True)
"""A JSON column that keeps a value exactly as given, key order included: plain ``json``
on PostgreSQL (``JSONB`` sorts keys), JSON text on SQLite. Dataset rows are replayed as
request bodies, so their keys must come back in the order they were sent."""


class Dataset(SQLModel, table=True):
    """A named, versioned list of rows in a project (its versions in ``dataset_versions``)."""

    __tablename__ = "datasets"

    project: str = Field(primary_key=True)
    name: str = Field(primary_key=True)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    """When the newest version was added."""


class DatasetVersion(SQLModel, table=True):
    """One content version of a dataset: named by the digest of its rows."""

    __tablename__ = "dataset_versions"
    __table_args__ = (
        sa.Index("ix_dataset_versions_project_name_created_at", "project", "name", "created_at"),
    )

    project: str = Field(primary_key=True)
    name: str = Field(primary_key=True)
    version: str = Field(primary_key=True)
    """The first 16 hex digits of ``digest``."""
    digest: str
    """sha256 of the rows' canonical JSON (``evaluations.digests``)."""
    row_count: int
    source: object = Field(default=None, sa_type=ORDERED_JSON, nullable=True)
    """Where the rows came from: ``{"kind": "rows"}`` or ``{"kind": "calls", "filters"}``."""
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class DatasetRow(SQLModel, table=True):
    """One row of one dataset version, its columns as given."""

    __tablename__ = "dataset_rows"

    project: str = Field(primary_key=True)
    name: str = Field(primary_key=True)
    version: str = Field(primary_key=True)
    row_index: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    data: object = Field(default=None, sa_type=ORDERED_JSON, nullable=True)
    """The row's columns (``values`` in the API)."""


class Evaluation(SQLModel, table=True):
    """An evaluation definition as runs name it (dataset, scorers and trials are per run)."""

    __tablename__ = "evaluations"

    project: str = Field(primary_key=True)
    name: str = Field(primary_key=True)
    version: str = Field(primary_key=True)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class EvalRun(SQLModel, table=True):
    """One run of an evaluation: a model version over a dataset version, with scorers."""

    __tablename__ = "eval_runs"
    __table_args__ = (sa.Index("ix_eval_runs_project_started_at", "project", "started_at"),)

    id: str = Field(primary_key=True)
    project: str
    evaluation_name: str
    evaluation_version: str
    dataset_name: str
    dataset_version: str
    model_name: str
    model_version: str
    scorers: object = Field(default=None, sa_type=ORDERED_JSON, nullable=True)
    """``[{"name", "version"}, ...]``."""
    trials: int
    n_rows: int
    """Rows times trials: the reports the run expects."""
    config: object = Field(default=None, sa_type=ORDERED_JSON, nullable=True)
    status: str
    """``running``, ``finished`` or ``failed`` (``interrupted`` is computed when read)."""
    summary: object = Field(default=None, sa_type=ORDERED_JSON, nullable=True)
    n_done: int = 0
    n_ok: int = 0
    n_model_errors: int = 0
    n_scorer_errors: int = 0
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_report_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class EvalRunRow(SQLModel, table=True):
    """One (row, trial) of a run as last reported: a retried row replaces its report."""

    __tablename__ = "eval_run_rows"

    run_id: str = Field(primary_key=True)
    row_index: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    trial: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    inputs: object = Field(default=None, sa_type=ORDERED_JSON, nullable=True)
    output: object = Field(default=None, sa_type=ORDERED_JSON, nullable=True)
    scores: object = Field(default=None, sa_type=ORDERED_JSON, nullable=True)
    scorer_errors: object = Field(default=None, sa_type=ORDERED_JSON, nullable=True)
    model_error: object = Field(default=None, sa_type=ORDERED_JSON, nullable=True)
    failed: bool
    """The model or a scorer failed on this row (``?failed=true`` lists these)."""
    trace_id: str | None = None
    span_id: str | None = None
    latency_ms: float | None = None
    reported_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


DATASETS: sa.Table = cast(sa.Table, Dataset.__table__)  # type: ignore[attr-defined]
DATASET_VERSIONS: sa.Table = cast(sa.Table, DatasetVersion.__table__)  # type: ignore[attr-defined]
DATASET_ROWS: sa.Table = cast(sa.Table, DatasetRow.__table__)  # type: ignore[attr-defined]
EVALUATIONS: sa.Table = cast(sa.Table, Evaluation.__table__)  # type: ignore[attr-defined]
EVAL_RUNS: sa.Table = cast(sa.Table, EvalRun.__table__)  # type: ignore[attr-defined]
EVAL_RUN_ROWS: sa.Table = cast(sa.Table, EvalRunRow.__table__)  # type: ignore[attr-defined]

SERVER_SETTINGS = sa.Table(
    "server_settings",
    SQLModel.metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
)
"""Values every replica of a server database must share, made once by the first replica
that needs them (the API key fingerprint salt: ``storage/shared_settings.py``)."""
REVOKED_SESSIONS = sa.Table(
    "revoked_sessions",
    SQLModel.metadata,
    sa.Column("session_id", sa.String(64), primary_key=True),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
)
"""Sign-in sessions ended by ``/signout`` before their cookie would expire, kept until then
(``access/revocations.py``): every replica refuses them."""
