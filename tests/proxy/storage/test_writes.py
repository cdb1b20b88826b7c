"""storage.queries: records go in and come back unchanged; lists filter and order right.

Records are the call record (``docs/architecture.md``, "The contract": call record); lists are
newest first with a keyset cursor, as ``GET /api/calls`` gives them. Inserts are one Core
``executemany``, SDK spans are upserted, and a call is read back by id.
"""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.engine import Engine
from wiretrace_proxy.callrecord import CallRecord, Usage
from wiretrace_proxy.storage import calls as stored
from wiretrace_proxy.storage import writes as queries
from wiretrace_proxy.storage.engine import create_engine_for
from wiretrace_proxy.storage.models import CALLS

from tests.factories import make_record
from tests.harness import select_records

pytestmark = pytest.mark.both_databases  # each test on SQLite and PostgreSQL

POSTGRESQL: sa.Dialect = PGDialect()  # type: ignore[no-untyped-call]


def insert(engine: Engine, *records: CallRecord) -> None:
    with engine.begin() as conn:
        queries.insert_records(conn, records)


def get(engine: Engine, call_id: str) -> CallRecord | None:
    with engine.connect() as conn:
        return stored.get_call(conn, call_id)


def listed(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [r.id for r in select_records(conn)]


def test_round_trip_keeps_unicode_nested_json_and_none_usage(engine: Engine) -> None:
    rec = make_record(
        1,
        display_name="résumé ✓ 日本語 🚀",
        inputs={"messages": [{"role": "user", "content": "naïve — 你好 🙂", "n": [1, 2.5, None]}]},
        output={"deep": {"a": [{"b": {"c": [True, False, None, 1.5, -0.5, ""]}}]}},
        usage=None,
        usage_source=None,
        cost_usd=None,
        error={"message": "boom ✗", "type": "server_error", "code": None},
        status="error",
        attributes={"properties": {"Ünïcode": "välue"}, "request": {"path": "/v1/x"}},
        session_id="s-1",
        user_id="u-1",
        key_fingerprint="ab12…wxyz",
        parent_id="f" * 16,
        kind="op",
    )
    insert(engine, rec)
    assert get(engine, rec.id) == rec


def test_nul_characters_are_stored_and_never_refuse_a_record(engine: Engine) -> None:
    rec = make_record(6, output={"text": "before\u0000after", "raw": "a \\u0000 b"})
    insert(engine, rec)
    back = get(engine, rec.id)
    assert back is not None
    if engine.dialect.name == "postgresql":  # JSONB cannot hold NUL: it becomes U+FFFD
        assert back.output == {"text": "before\ufffdafter", "raw": "a \\u0000 b"}
    else:
        assert back == rec


def test_round_trip_keeps_every_usage_count(engine: Engine) -> None:
    rec = make_record(2, usage=Usage(10, 20, 30, cached_tokens=4, reasoning_tokens=8))
    insert(engine, rec)
    back = get(engine, rec.id)
    assert back is not None and back.usage == Usage(10, 20, 30, 4, 8)


def test_usage_is_flattened_into_token_columns(engine: Engine) -> None:
    insert(engine, make_record(3, usage=Usage(1, 2, 3, 0, None)))
    with engine.connect() as conn:
        row = conn.execute(sa.select(CALLS)).mappings().one()
    assert (row["prompt_tokens"], row["completion_tokens"], row["total_tokens"]) == (1, 2, 3)
    assert (row["cached_tokens"], row["reasoning_tokens"]) == (0, None)


def test_plain_string_and_null_json_values_round_trip(engine: Engine) -> None:
    rec = make_record(4, inputs={"raw": "not json {", "content_type": "text/plain"}, output=None)
    insert(engine, rec)
    assert get(engine, rec.id) == rec


def test_get_call_returns_none_for_unknown_id(engine: Engine) -> None:
    assert get(engine, "0" * 16) is None


def test_insert_refuses_a_duplicate_id(engine: Engine) -> None:
    insert(engine, make_record(1))
    with pytest.raises(sa.exc.IntegrityError):
        insert(engine, make_record(1))


def upsert(engine: Engine, *records: CallRecord) -> None:
    with engine.begin() as conn:
        queries.upsert_records(conn, records)


def span_parts() -> tuple[CallRecord, CallRecord]:
    start = make_record(
        5, status="running", ended_at=None, latency_ms=None, output=None, usage=None, kind="op"
    )
    end = make_record(5, status="ok", inputs=None, output={"answer": 42}, kind="op")
    return start, end


def test_upsert_merges_start_then_end(engine: Engine) -> None:
    start, end = span_parts()
    upsert(engine, start)
    assert get(engine, start.id) == start
    upsert(engine, end)
    merged = get(engine, start.id)
    assert merged is not None
    assert merged.status == "ok"
    assert merged.inputs == start.inputs  # the end carried no inputs: the start's are kept
    assert merged.output == {"answer": 42}
    assert merged.ended_at == end.ended_at and merged.usage == end.usage


def test_upsert_merges_end_then_start_without_going_back_to_running(engine: Engine) -> None:
    start, end = span_parts()
    upsert(engine, end)
    upsert(engine, start)
    merged = get(engine, start.id)
    assert merged is not None
    assert merged.status == "ok"
    assert merged.output == {"answer": 42} and merged.inputs == start.inputs
    assert merged.ended_at == end.ended_at and merged.latency_ms == end.latency_ms


def test_upsert_inserts_many_new_rows(engine: Engine) -> None:
    upsert(engine, *(make_record(n) for n in range(1, 5)))
    assert len(listed(engine)) == 4


def test_upsert_refuses_a_proxied_call_and_keeps_it_unchanged(engine: Engine) -> None:
    call = make_record(1)
    insert(engine, call)
    forged = make_record(1, kind="op", op_name="forged", status="error", inputs={"x": 1})
    with engine.begin() as conn:
        refused = queries.upsert_records(conn, [forged, make_record(2, kind="op")])
    assert refused == [call.id]
    assert get(engine, call.id) == call
    assert get(engine, make_record(2).id) is not None  # the batch's other span is stored


def test_upsert_refuses_another_projects_or_traces_span(engine: Engine) -> None:
    start, end = span_parts()
    upsert(engine, start)
    other_project = dataclasses.replace(end, project="someone-else")
    other_trace = dataclasses.replace(end, trace_id="e" * 32)
    for forged in (other_project, other_trace):
        with engine.begin() as conn:
            assert queries.upsert_records(conn, [forged]) == [start.id]
    assert get(engine, start.id) == start


def test_upsert_statement_renders_on_conflict_for_postgresql() -> None:
    sql = str(queries._upsert_statement("postgresql").compile(dialect=POSTGRESQL))
    assert "ON CONFLICT (id) DO UPDATE SET" in sql
    assert "coalesce(excluded.output, calls.output)" in sql
    assert "WHERE calls.kind = %(kind_1)s" in sql and "RETURNING calls.id" in sql
    assert "calls.project = excluded.project" in sql


def test_write_batch_writes_all_in_one_go(engine: Engine) -> None:
    result = queries.write_batch(engine, [make_record(n) for n in range(1, 4)])
    assert result == queries.BatchResult(written=3)
    assert len(listed(engine)) == 3


def test_write_batch_keeps_the_good_records_of_a_batch_with_a_bad_one(engine: Engine) -> None:
    insert(engine, make_record(2))
    result = queries.write_batch(engine, [make_record(1), make_record(2), make_record(3)])
    assert result.split and result.failure is None and result.written == 2
    assert [(call_id, type(exc)) for call_id, exc in result.refused] == [
        (f"{2:016x}", sa.exc.IntegrityError)
    ]
    assert listed(engine) == [f"{n:016x}" for n in (3, 2, 1)]


def test_write_batch_reports_a_failing_database_and_stores_nothing() -> None:
    broken = create_engine_for("sqlite://")  # in-memory and never migrated: no calls table
    result = queries.write_batch(broken, [make_record(1), make_record(2), make_record(3)])
    assert result.split and result.written == 0
    assert isinstance(result.failure, sa.exc.OperationalError)
