"""storage.models: the ``calls`` table mirrors CallRecord, is portable, and stores UTC.

The table is the call record (``docs/architecture.md``, "The contract": call record): its
columns, the indexes the UI needs, JSON/JSONB, a timezone-aware ``started_at``, nothing
SQLite-only.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.dialects.sqlite.base import SQLiteDialect
from sqlalchemy.engine import Engine
from sqlalchemy.schema import CreateIndex, CreateTable
from wiretrace_proxy.callrecord import USAGE_KEYS, CallRecord
from wiretrace_proxy.storage.models import CALLS, Call

POSTGRESQL: sa.Dialect = PGDialect()  # type: ignore[no-untyped-call]

EXPECTED_INDEXES = {
    ("project", "started_at"),
    ("trace_id", "started_at"),
    ("parent_id",),
    ("op_name", "started_at"),
    ("model", "started_at"),
    ("status", "started_at"),
    ("op_name", "op_version"),
    ("prompt_digest", "started_at"),
    ("latency_ms",),
    ("total_tokens",),
    ("cost_usd",),
    ("started_at", "id"),
    ("ttft_ms",),
    ("prompt_tokens",),
    ("completion_tokens",),
    ("model", "latency_ms"),
    ("model", "cost_usd"),
    ("op_name", "id"),
    ("model", "id"),
    ("status", "id"),
    ("session_id", "id"),
    ("user_id", "id"),
    ("merge_key", "started_at"),  # an ingested LLM span and its proxied call (llm_merge)
}
JSON_COLUMNS = ("inputs", "output", "error", "attributes")


def test_table_is_calls_and_is_the_model_table() -> None:
    assert CALLS.name == "calls"
    assert Call.__tablename__ == "calls"
    assert [c.name for c in CALLS.primary_key.columns] == ["id"]


def test_columns_are_the_record_fields_with_usage_flattened() -> None:
    """Plus ``merge_key``, derived from the record (``rows.merge_key_of``), and
    ``inputs_key_order``, the inputs' key order (``storage/key_order.py``)."""
    record_fields = {f.name for f in dataclasses.fields(CallRecord)} - {"usage"}
    derived = {"merge_key", "inputs_key_order"}
    assert set(CALLS.c.keys()) == record_fields | set(USAGE_KEYS) | derived


def test_required_columns_are_not_nullable_and_the_rest_are() -> None:
    required = {"id", "project", "kind", "trace_id", "op_name", "started_at", "status"}
    assert {c.name for c in CALLS.c if not c.nullable} == required


def test_indexes_cover_what_the_ui_filters_and_sorts_by() -> None:
    indexes = {tuple(c.name for c in index.columns) for index in CALLS.indexes}
    assert indexes == EXPECTED_INDEXES


EXPECTED_COLUMNS = [
    ("id", "VARCHAR NOT NULL"),
    ("project", "VARCHAR NOT NULL"),
    ("kind", "VARCHAR NOT NULL"),
    ("trace_id", "VARCHAR NOT NULL"),
    ("parent_id", "VARCHAR"),
    ("op_name", "VARCHAR NOT NULL"),
    ("display_name", "VARCHAR"),
    ("started_at", "{time} NOT NULL"),
    ("ended_at", "{time}"),
    ("latency_ms", "FLOAT"),
    ("ttft_ms", "FLOAT"),
    ("overhead_ms", "FLOAT"),
    ("status", "VARCHAR NOT NULL"),
    ("http_status", "INTEGER"),
    ("model", "VARCHAR"),
    ("response_model", "VARCHAR"),
    ("prompt_tokens", "INTEGER"),
    ("completion_tokens", "INTEGER"),
    ("total_tokens", "INTEGER"),
    ("cached_tokens", "INTEGER"),
    ("reasoning_tokens", "INTEGER"),
    ("usage_source", "VARCHAR"),
    ("cost_usd", "FLOAT"),
    ("session_id", "VARCHAR"),
    ("user_id", "VARCHAR"),
    ("key_fingerprint", "VARCHAR"),
    ("inputs", "{json}"),
    ("output", "{json}"),
    ("error", "{json}"),
    ("attributes", "{json}"),
    ("op_version", "VARCHAR"),
    ("model_version", "VARCHAR"),
    ("merge_key", "VARCHAR"),
    ("prompt_digest", "VARCHAR"),
    ("inputs_key_order", "JSON"),
]
"""The ``calls`` DDL, column by column; ``{time}`` and ``{json}`` differ by dialect."""


@pytest.mark.parametrize(
    ("dialect", "time", "json"),
    [(SQLiteDialect(), "DATETIME", "JSON"), (POSTGRESQL, "TIMESTAMP WITH TIME ZONE", "JSONB")],
)
def test_ddl_compiles_for_sqlite_and_postgresql(dialect: sa.Dialect, time: str, json: str) -> None:
    ddl = str(CreateTable(CALLS).compile(dialect=dialect))
    for index in CALLS.indexes:
        str(CreateIndex(index).compile(dialect=dialect))
    head, _, body = ddl.strip().partition("(\n")
    assert head.strip() == "CREATE TABLE calls"
    lines = [line.strip().rstrip(",").strip() for line in body.removesuffix(")").splitlines()]
    lines = [line for line in lines if line]
    assert lines[-1] == "PRIMARY KEY (id)"
    columns = [tuple(line.split(" ", 1)) for line in lines[:-1]]
    assert columns == [(name, spec.format(time=time, json=json)) for name, spec in EXPECTED_COLUMNS]


def test_postgresql_gets_jsonb_and_timestamptz() -> None:
    ddl = str(CreateTable(CALLS).compile(dialect=POSTGRESQL))
    for name in JSON_COLUMNS:
        assert f"{name} JSONB" in ddl
    assert "started_at TIMESTAMP WITH TIME ZONE NOT NULL" in ddl
    assert "ended_at TIMESTAMP WITH TIME ZONE," in ddl


def test_sqlite_gets_json() -> None:
    ddl = str(CreateTable(CALLS).compile(dialect=SQLiteDialect()))
    for name in JSON_COLUMNS:
        assert f"{name} JSON" in ddl


def _insert_time(engine: Engine, call_id: str, started_at: datetime) -> None:
    row = {
        "id": call_id,
        "project": "p",
        "kind": "llm",
        "trace_id": "0" * 32,
        "op_name": "op",
        "started_at": started_at,
        "status": "ok",
    }
    with engine.begin() as conn:
        conn.execute(sa.insert(CALLS), [row])


def test_times_are_stored_as_utc_and_read_back_aware(engine: Engine) -> None:
    paris = timezone(timedelta(hours=2))
    local = datetime(2024, 6, 1, 14, 0, 0, 123456, tzinfo=paris)
    _insert_time(engine, "a" * 16, local)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(CALLS.c.started_at)).scalar_one()
    assert stored == local
    assert stored.tzinfo is UTC
    assert stored.hour == 12


def test_utc_storage_makes_ordering_exact_across_offsets(engine: Engine) -> None:
    # 12:30+02:00 is 10:30Z, earlier than 11:00Z although its local clock reads later.
    early = datetime(2024, 6, 1, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    late = datetime(2024, 6, 1, 11, 0, tzinfo=UTC)
    _insert_time(engine, "1" * 16, late)
    _insert_time(engine, "2" * 16, early)
    with engine.connect() as conn:
        ids = conn.execute(sa.select(CALLS.c.id).order_by(CALLS.c.started_at)).scalars().all()
    assert ids == ["2" * 16, "1" * 16]


def test_naive_times_are_refused(engine: Engine) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        _insert_time(engine, "b" * 16, datetime(2024, 6, 1, 12, 0))
