"""The search indexes (migration 0012): text search and ``property.<key>`` give what the
scan of the JSON gives, through inserts, updates, running-row replacement and purges, and
the migration backfills calls stored before it.

"The scan" is today's exact condition alone (``filters.text_scan``, the JSON properties
read with ``json_each``/``jsonb_each_text``), run on the same database, so every query is
compared with what it answered before the indexes existed.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection, Engine
from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.storage import migrate
from wiretrace_proxy.storage.engine import create_engine_for
from wiretrace_proxy.storage.filters import (
    CallFilter,
    PropertyEquals,
    apply_filters,
    json_text_pattern,
    parse_filters,
    text_scan,
)
from wiretrace_proxy.storage.models import CALL_PROPERTIES, CALLS
from wiretrace_proxy.storage.purge import purge
from wiretrace_proxy.storage.rows import record_to_row
from wiretrace_proxy.storage.stats import compute_stats
from wiretrace_proxy.storage.writes import insert_records, write_batch

from tests.factories import T0, make_record
from tests.proxy import seed

pytestmark = pytest.mark.both_databases  # each test on SQLite and PostgreSQL

TEXTS = (
    "100% sure it's a_b; not axb",
    "path C:\\temp\\new and a 'quote' ; DROP TABLE calls;--",
    'she said "hello there" twice',
    "Résumé: café ☕ naïve — 日本語のテキスト",
    "RÉSUMÉ CAFÉ in capitals",
    "Ünïcödé ÉCOLE emoji 🚀 done",
    "line one\nline two\ttabbed",
    "What Is The Capital Of France?",
    "literal backslash-u: \\u00e9 is not é",
)
QUERIES = (
    "%",
    "_",
    "\\",
    "a_b",
    "axb",
    "100%",
    "0% s",
    "C:\\temp",
    "'quote'",
    '"hello there"',
    'hello there" tw',
    "café",
    "CAFÉ",
    "résumé",
    "日本語",
    "🚀",
    "é",
    "ab",
    "ni",
    "\n",
    "one\nline",
    "\\u00e9",
    "u00e9",
    "capital of france",
    "WHAT IS",
    "content",
    'content": "',
    '"role": "user", "content": "What',
    'user", "con',
    'e": "us',
    "}], ",
    "nothing like this anywhere",
)
"""Metacharacters, quotes and backslashes, unicode in both cases, short queries, and words
across a JSON key boundary (``role": "user``), which live only in the stored JSON text."""


def ids(conn: Connection, condition: sa.ColumnElement[bool]) -> set[str]:
    return set(conn.scalars(sa.select(CALLS.c.id).where(condition)))


def search(conn: Connection, f: CallFilter) -> set[str]:
    return set(conn.scalars(apply_filters(sa.select(CALLS.c.id), f)))


def scan(conn: Connection, q: str) -> set[str]:
    spellings = sorted({json_text_pattern(q), json.dumps(q, ensure_ascii=False)[1:-1]})
    return ids(conn, text_scan(spellings))


def tricky_records() -> list[CallRecord]:
    out = []
    for n, text in enumerate(TEXTS, start=1):
        out.append(
            make_record(
                n,
                inputs={"messages": [{"role": "user", "content": text}]},
                output={"choices": [{"message": {"content": text[::-1]}}], "n": n},
            )
        )
    return out


def insert(engine: Engine, records: list[CallRecord]) -> None:
    with engine.begin() as conn:
        insert_records(conn, records)


def assert_search_is_the_scan(engine: Engine, queries: tuple[str, ...] = QUERIES) -> int:
    """Every query answers as the scan does; returns how many found something."""
    found = 0
    with engine.connect() as conn:
        for q in queries:
            expected = scan(conn, q)
            assert search(conn, CallFilter(q=q)) == expected, q
            found += bool(expected)
    return found


def test_search_finds_what_the_scan_finds_on_tricky_text(engine: Engine) -> None:
    insert(engine, tricky_records())
    assert assert_search_is_the_scan(engine) >= 20
    with engine.connect() as conn:
        assert search(conn, CallFilter(q="a_b")) == {f"{1:016x}"}  # not axb: `_` is literal
        assert search(conn, CallFilter(q="%")) == {f"{1:016x}"}
        assert search(conn, CallFilter(q="caPITal of")) == {f"{8:016x}"}
        assert search(conn, CallFilter(q='"role": "user"')) == set()  # stored as \"role\"...
        assert len(search(conn, CallFilter(q="role"))) == len(TEXTS)


def test_search_is_served_by_the_index(engine: Engine) -> None:
    insert(engine, tricky_records())
    statement = apply_filters(sa.select(CALLS.c.id), CallFilter(q="capital"))
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            compiled = statement.compile(conn, compile_kwargs={"literal_binds": True})
            plan = " ".join(str(r) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
            assert "call_text" in plan
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")
            compiled = statement.compile(conn, compile_kwargs={"literal_binds": True})
            plan = " ".join(str(r) for r in conn.exec_driver_sql(f"EXPLAIN {compiled}"))
            assert "ix_calls_inputs_trgm" in plan and "ix_calls_output_trgm" in plan


def test_search_follows_updates_running_replacement_and_purge(engine: Engine) -> None:
    running = make_record(
        1, status="running", output=None, attributes={"properties": {"stage": "streaming"}}
    )
    other = make_record(2, inputs={"messages": [{"role": "user", "content": "old words"}]})
    assert write_batch(engine, [running, other]).written == 2
    final = dataclasses.replace(
        running,
        status="ok",
        output={"choices": [{"message": {"content": "zebra crossing"}}]},
        attributes={"properties": {"stage": "done"}},
    )
    assert write_batch(engine, [final], replacing={running.id}).written == 1
    with engine.begin() as conn:  # an update in place, as the LLM span fold makes
        conn.execute(
            sa.update(CALLS)
            .where(CALLS.c.id == other.id)
            .values(inputs={"messages": [{"role": "user", "content": "new words"}]})
        )
    with engine.connect() as conn:
        assert search(conn, CallFilter(q="zebra")) == {running.id}
        assert search(conn, CallFilter(q="old words")) == set()
        assert search(conn, CallFilter(q="new words")) == {other.id}
        assert search(conn, CallFilter(properties={"stage": "streaming"})) == set()
        assert search(conn, CallFilter(properties={"stage": "done"})) == {running.id}
    assert_search_is_the_scan(engine, ("zebra", "words", "old", "new", "hi"))
    purge(engine, T0 + timedelta(days=1))
    with engine.connect() as conn:
        assert search(conn, CallFilter(q="zebra")) == set()
        assert search(conn, CallFilter(q="words")) == set()
        assert conn.scalar(sa.select(sa.func.count()).select_from(CALL_PROPERTIES)) == 0
    insert(engine, [make_record(5, inputs={"messages": [{"content": "zebra again"}]})])
    with engine.connect() as conn:
        assert search(conn, CallFilter(q="zebra")) == {f"{5:016x}"}


def expected_properties(records: list[CallRecord]) -> list[dict[str, str | None]]:
    """Each record's properties as filters read them: keys lowercased, the first wins."""
    out = []
    for rec in records:
        props = rec.attributes.get("properties")
        seen: dict[str, str | None] = {}
        for key, value in (props if isinstance(props, dict) else {}).items():
            text = value if isinstance(value, str) or value is None else json.dumps(value)
            seen.setdefault(key.lower(), text)
        out.append(seen)
    return out


def odd_property_records() -> list[CallRecord]:
    long_value = "v" * 450
    return [
        make_record(101, attributes={"properties": {"Env": "prod", "note": long_value}}),
        make_record(102, attributes={"properties": {"env": None, "k" * 200: "long key"}}),
        make_record(103, attributes={"properties": {"ENV": "prod", "team": "ünï"}}),
        make_record(104, attributes={"properties": "not an object"}),
        make_record(105, attributes={}),
    ]


def test_property_filter_and_group_by_equal_a_count_of_the_seed(engine: Engine) -> None:
    records = seed.build() + seed.metachar_records() + odd_property_records()
    insert(engine, records)
    stored = {rec.id for rec in records}
    props = dict(zip((rec.id for rec in records), expected_properties(records), strict=True))
    keys = {key for p in props.values() for key in p} | {"absent"}
    assert len(keys) > 8
    with engine.connect() as conn:
        for key in sorted(keys):
            counted = Counter(p.get(key) for p in props.values())
            stats = compute_stats(conn, f"property.{key}", CallFilter(), exact=True, limit=1000)
            assert {g.key: g.calls for g in stats.groups} == dict(counted), key
            for value in {v for v in counted if v is not None}:
                f = parse_filters({f"property.{key.upper()}": value})
                expected = {i for i, p in props.items() if p.get(key) == value}
                assert search(conn, f) == expected, (key, value)
                assert ids(conn, PropertyEquals(key, value)) == expected  # the JSON scan
        assert search(conn, CallFilter(properties={"env": "prod"})) <= stored


def test_migration_backfills_calls_stored_before_it(db_url: str) -> None:
    engine = create_engine_for(db_url)
    try:
        config = migrate.alembic_config(engine)
        command.upgrade(config, "0011")
        records = tricky_records() + seed.build(traces=5) + odd_property_records()
        present = {c["name"] for c in sa.inspect(engine).get_columns("calls")}  # at 0011
        rows = [{k: v for k, v in record_to_row(rec).items() if k in present} for rec in records]
        with engine.begin() as conn:
            conn.execute(sa.insert(CALLS), rows)
        command.upgrade(config, "head")  # 0012's backfill; this code's search wants the head
        assert assert_search_is_the_scan(engine) >= 20
        props = expected_properties(records)
        with engine.connect() as conn:
            stats = compute_stats(conn, "property.env", CallFilter(), exact=True)
            assert {g.key: g.calls for g in stats.groups} == dict(
                Counter(p.get("env") for p in props)
            )
        command.downgrade(config, "0011")
        assert "call_properties" not in sa.inspect(engine).get_table_names()
        with engine.connect() as conn:
            assert conn.scalar(sa.select(sa.func.count()).select_from(CALLS)) == len(records)
    finally:
        engine.dispose()
