"""storage.filters: parameters in, SQL conditions out; metacharacters match literally.

Bad parameters give clear 400s naming the parameter (``docs/architecture.md``, "Principles":
bad input); SQL metacharacters in every text filter do nothing but match literally.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine
from wiretrace_proxy.storage.engine import create_engine_for
from wiretrace_proxy.storage.filters import (
    EXACT,
    PARAMS,
    CallFilter,
    FilterError,
    apply_filters,
    json_text_pattern,
    parse_filters,
)
from wiretrace_proxy.storage.migrate import upgrade_to_head
from wiretrace_proxy.storage.models import CALLS

from tests.proxy import seed

META = seed.metachar_records()
TEXT_COLUMNS = [name for name in EXACT if name not in ("status", "kind")]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("filters") / "wiretrace.db"
    engine = create_engine_for(f"sqlite:///{path}")
    upgrade_to_head(engine)
    seed.insert(engine, META + seed.build(traces=3))
    yield engine
    engine.dispose()


def matching(engine: Engine, query: dict[str, str]) -> list[str]:
    stmt = apply_filters(sa.select(CALLS.c.id), parse_filters(query)).order_by(CALLS.c.id)
    with engine.connect() as conn:
        return list(conn.execute(stmt).scalars())


def only(char: str) -> list[str]:
    return [r.id for r in META if r.model == f"x{char}y"]


@pytest.mark.parametrize("char", seed.METACHARS)
@pytest.mark.parametrize("column", TEXT_COLUMNS)
def test_metacharacters_in_exact_filters_match_literally(
    engine: Engine, column: str, char: str
) -> None:
    assert matching(engine, {column: f"x{char}y"}) == only(char)


@pytest.mark.parametrize("char", seed.METACHARS)
def test_metacharacters_in_property_keys_values_and_search_match_literally(
    engine: Engine, char: str
) -> None:
    assert matching(engine, {f"property.k{char}": f"v{char}"}) == only(char)
    assert matching(engine, {"property.m": f"x{char}y"}) == only(char)
    assert matching(engine, {"q": f"x{char}y"}) == only(char)
    assert matching(engine, {"q": f"find x{char}"}) == only(char)


def test_a_quote_or_dot_in_a_property_key_cannot_break_the_query(engine: Engine) -> None:
    for key in ('a"b', "a.b", "$.x", "a'); DROP TABLE calls;--", "é"):
        assert matching(engine, {f"property.{key}": "v"}) == []
    assert len(matching(engine, {})) == len(META) + len(seed.build(traces=3))


def test_cached_statements_still_use_each_requests_values(engine: Engine) -> None:
    """The custom SQL constructs take part in SQLAlchemy's statement cache correctly."""
    for char in seed.METACHARS:
        assert matching(engine, {"property.m": f"x{char}y", "q": f"x{char}y"}) == only(char)


def test_search_looks_for_both_json_spellings_of_non_ascii() -> None:
    """SQLite stores ``\\u00e9``; PostgreSQL's jsonb::text shows ``é``: both are tried."""
    stmt = apply_filters(sa.select(CALLS.c.id), parse_filters({"q": "é"}))
    params = stmt.compile(dialect=postgresql.dialect()).params  # type: ignore[no-untyped-call]
    assert {"%\\u00e9%", "%é%"} <= set(params.values())
    assert json_text_pattern('a"b\\') == 'a\\"b\\\\'


def test_postgresql_gets_jsonb_functions_and_ilike() -> None:
    query = {"property.env": "prod", "q": "x", "roots_only": "1", "feedback": "any"}
    stmt = apply_filters(sa.select(CALLS.c.id), parse_filters(query))
    sql = str(stmt.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]
    assert "call_properties" in sql and "ILIKE" in sql and "feedback.call_id" in sql
    long_value = parse_filters({"property.env": "v" * 401})  # too long for call_properties
    stmt = apply_filters(sa.select(CALLS.c.id), long_value)
    assert "jsonb_each_text" in str(stmt.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]


def test_parse_refuses_unknown_parameters_listing_the_allowed_ones() -> None:
    with pytest.raises(FilterError) as info:
        parse_filters({"modle": "gpt-4o"}, extra=("limit",))
    assert info.value.param == "modle"
    for name in (*PARAMS, "property.<key>", "limit"):
        assert name in str(info.value)
    assert parse_filters({"limit": "5"}, extra=("limit",)) == CallFilter()


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"status": "fine"}, "status"),
        ({"kind": "x%"}, "kind"),
        ({"min_tokens": "lots"}, "min_tokens"),
        ({"max_cost": "inf"}, "max_cost"),
        ({"until": "2026-13-01"}, "until"),
        ({"roots_only": "2"}, "roots_only"),
        ({"feedback": "UP"}, "feedback"),
        ({"property.": "x"}, "property."),
    ],
)
def test_parse_names_the_bad_parameter(query: dict[str, str], param: str) -> None:
    with pytest.raises(FilterError) as info:
        parse_filters(query)
    assert info.value.param == param


def test_parse_reads_times_numbers_flags_and_ignores_empty_values() -> None:
    f = parse_filters(
        {
            "since": "2026-01-05T10:00:00+02:00",
            "until": "2026-01-06T00:00:00",
            "min_latency_ms": "10.5",
            "max_tokens": "100",
            "roots_only": "yes",
            "model": "",
            "q": "",
        }
    )
    assert f.since == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    assert f.until == datetime(2026, 1, 6, tzinfo=timezone(timedelta(0)))
    assert f.minimum == {"latency_ms": 10.5} and f.maximum == {"total_tokens": 100.0}
    assert f.roots_only and f.exact == {} and f.q is None
