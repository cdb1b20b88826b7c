"""storage.calls_query: every sort key pages through every row once, NULLs last, and every
filter returns exactly what a plain Python reading of the same records says.

Every filter and sort key is checked against a seeded database, with keyset pagination,
combinations, empty results and unicode.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Connection, Engine
from wiretrace_proxy.callrecord import JSON, CallRecord
from wiretrace_proxy.storage import feedback
from wiretrace_proxy.storage.engine import create_engine_for
from wiretrace_proxy.storage.feedback import FeedbackEntry
from wiretrace_proxy.storage.filters import CallFilter, FilterError, parse_filters
from wiretrace_proxy.storage.listing import (
    SORT_KEYS,
    Cursor,
    Sort,
    fetch_page,
    iter_batches,
    parse_limit,
)
from wiretrace_proxy.storage.migrate import upgrade_to_head

from tests.proxy import seed

RECORDS = seed.build()
BY_ID = {r.id: r for r in RECORDS}
SORTS = [Sort(key, desc) for key in SORT_KEYS for desc in (True, False)]
UP, DOWN, NOTE = RECORDS[2].id, RECORDS[5].id, RECORDS[8].id


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("calls_query") / "wiretrace.db"
    engine = create_engine_for(f"sqlite:///{path}")
    upgrade_to_head(engine)
    seed.insert(engine, RECORDS)
    with engine.begin() as conn:
        for n, (call_id, thumbs) in enumerate([(UP, "up"), (UP, "up"), (DOWN, "down")]):
            feedback.add_feedback(conn, _entry(f"f{n}", call_id, thumbs=thumbs))
        feedback.add_feedback(conn, _entry("f3", NOTE, note="meh", name="accuracy", score=0.5))
        feedback.add_feedback(conn, _entry("f4", NOTE, name="accuracy", score=1.0))
    yield engine
    engine.dispose()


def _entry(entry_id: str, call_id: str, **fields: object) -> FeedbackEntry:
    values: dict[str, object] = {"thumbs": None, "name": None, "score": None, "note": None}
    values.update(fields)
    return FeedbackEntry(
        id=entry_id,
        call_id=call_id,
        author="tester",
        created_at=datetime.now(UTC),
        **values,  # type: ignore[arg-type]
    )


def sort_value(record: CallRecord, key: str) -> object:
    if key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        return getattr(record.usage, key) if record.usage else None
    return getattr(record, key)


def expected(records: list[CallRecord], sort: Sort) -> list[str]:
    """The order the API promises: values in (value, id) order, then NULLs by id."""
    valued = [r for r in records if sort_value(r, sort.key) is not None]
    nulls = [r for r in records if sort_value(r, sort.key) is None]
    valued.sort(key=lambda r: (sort_value(r, sort.key), r.id), reverse=sort.descending)
    nulls.sort(key=lambda r: r.id, reverse=sort.descending)
    return [r.id for r in valued + nulls]


def all_pages(conn: Connection, f: CallFilter, sort: Sort, limit: int) -> list[str]:
    ids: list[str] = []
    after = None
    for _ in range(1000):
        page = fetch_page(conn, f, sort, limit, after)
        assert len(page.records) <= limit
        ids += [r.id for r in page.records]
        if page.next_cursor is None:
            return ids
        assert len(page.records) == limit  # only a full page promises more
        after = Cursor.decode(page.next_cursor, sort)
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize("sort", SORTS, ids=str)
@pytest.mark.parametrize("limit", [1, 7, 1000])
def test_every_sort_key_pages_through_every_row_once_nulls_last(
    engine: Engine, sort: Sort, limit: int
) -> None:
    with engine.connect() as conn:
        got = all_pages(conn, CallFilter(), sort, limit)
    assert got == expected(RECORDS, sort)


def test_the_seed_has_ties_and_nulls_so_the_order_test_means_something() -> None:
    for key in SORT_KEYS:
        values = [sort_value(r, key) for r in RECORDS if sort_value(r, key) is not None]
        assert len(values) > len(set(values)), f"no ties in {key}"
        if key not in ("started_at", "op_name", "status"):  # the NOT NULL columns
            assert len(values) < len(RECORDS), f"no NULLs in {key}"


def _props(record: CallRecord) -> dict[str, JSON]:
    props = record.attributes.get("properties")
    return props if isinstance(props, dict) else {}


def _text(record: CallRecord) -> str:
    return json.dumps([record.inputs, record.output], ensure_ascii=False)


def _ascii_lower(text: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in text)


def _finished_before(r: CallRecord, limit: float, key: str) -> bool:
    value = sort_value(r, key)
    return isinstance(value, int | float) and value <= limit


FILTERS: dict[str, tuple[dict[str, str], Callable[[CallRecord], bool]]] = {
    "project": ({"project": "other"}, lambda r: r.project == "other"),
    "op_name": ({"op_name": "op.step1"}, lambda r: r.op_name == "op.step1"),
    "op_version": ({"op_version": "v1"}, lambda r: r.op_version == "v1"),
    "model": ({"model": "gpt-4o"}, lambda r: r.model == "gpt-4o"),
    "status": ({"status": "error"}, lambda r: r.status == "error"),
    "trace_id": ({"trace_id": RECORDS[3].trace_id}, lambda r: r.trace_id == RECORDS[3].trace_id),
    "parent_id": ({"parent_id": RECORDS[0].id}, lambda r: r.parent_id == RECORDS[0].id),
    "session_id": ({"session_id": "session-2"}, lambda r: r.session_id == "session-2"),
    "user_id": ({"user_id": "user-1"}, lambda r: r.user_id == "user-1"),
    "prompt_digest": ({"prompt_digest": "digest-0"}, lambda r: r.prompt_digest == "digest-0"),
    "kind": ({"kind": "op"}, lambda r: r.kind == "op"),
    "property": ({"property.env": "staging"}, lambda r: _props(r).get("env") == "staging"),
    "property key ignores case": (
        {"property.FEATURE": "search"},
        lambda r: _props(r).get("feature") == "search",
    ),
    "property value is exact": ({"property.env": "PROD"}, lambda r: False),
    "since": (
        {"since": "2026-01-06T00:00:00Z"},
        lambda r: r.started_at >= datetime(2026, 1, 6, tzinfo=UTC),
    ),
    "until (exclusive, other zone)": (
        {"until": "2026-01-06T07:03:00.001+01:00"},
        lambda r: r.started_at < datetime(2026, 1, 6, 6, 3, 0, 1000, tzinfo=UTC),
    ),
    "min_latency_ms": (
        {"min_latency_ms": "480"},
        lambda r: r.latency_ms is not None and r.latency_ms >= 480,
    ),
    "max_latency_ms": ({"max_latency_ms": "480"}, lambda r: _finished_before(r, 480, "latency_ms")),
    "min_tokens": (
        {"min_tokens": "1000"},
        lambda r: r.usage is not None and (r.usage.total_tokens or 0) >= 1000,
    ),
    "max_tokens": ({"max_tokens": "900"}, lambda r: _finished_before(r, 900, "total_tokens")),
    "min_cost": ({"min_cost": "0.001"}, lambda r: (r.cost_usd or 0) >= 0.001),
    "max_cost": ({"max_cost": "0.0005"}, lambda r: _finished_before(r, 0.0005, "cost_usd")),
    "q ascii case": ({"q": "FRANCE"}, lambda r: "france" in _ascii_lower(_text(r))),
    "q accents": ({"q": "café"}, lambda r: "café" in _text(r)),
    "q japanese": ({"q": "日本語"}, lambda r: "日本語" in _text(r)),
    "q emoji": ({"q": "🚀"}, lambda r: "🚀" in _text(r)),
    "q upper non-ascii": ({"q": "ÉCOLE"}, lambda r: "ÉCOLE" in _text(r)),
    "q in output": ({"q": "answer 5:"}, lambda r: "answer 5:" in _text(r)),
    "q nothing": ({"q": "zebra-unicorn"}, lambda r: False),
    "roots_only": (
        {"roots_only": "true"},
        lambda r: r.parent_id is None or r.parent_id not in BY_ID,
    ),
    "feedback up": ({"feedback": "up"}, lambda r: r.id == UP),
    "feedback down": ({"feedback": "down"}, lambda r: r.id == DOWN),
    "feedback any": ({"feedback": "any"}, lambda r: r.id in (UP, DOWN, NOTE)),
    "feedback none": ({"feedback": "none"}, lambda r: r.id not in (UP, DOWN, NOTE)),
    "combination": (
        {"model": "gpt-4o-mini", "status": "ok", "property.env": "staging", "min_tokens": "1"},
        lambda r: (
            r.model == "gpt-4o-mini"
            and r.status == "ok"
            and _props(r).get("env") == "staging"
            and r.usage is not None
        ),
    ),
    "empty combination": ({"kind": "op", "model": "gpt-4o"}, lambda r: False),
}


@pytest.mark.parametrize("name", FILTERS)
def test_each_filter_matches_exactly_what_it_says(engine: Engine, name: str) -> None:
    params, predicate = FILTERS[name]
    wanted = [r for r in RECORDS if predicate(r)]
    if "empty" not in name and "nothing" not in name and "exact" not in name:
        assert wanted, "the seed must make this filter select something"
        assert len(wanted) < len(RECORDS), "the seed must make this filter reject something"
    sort = Sort("latency_ms", True)
    with engine.connect() as conn:
        got = all_pages(conn, parse_filters(params), sort, 5)
    assert got == expected(wanted, sort)


def test_a_cursor_only_fits_the_sort_it_was_made_for(engine: Engine) -> None:
    with engine.connect() as conn:
        page = fetch_page(conn, CallFilter(), Sort("cost_usd", True), 3)
    assert page.next_cursor is not None
    with pytest.raises(FilterError, match="sort=-cost_usd") as info:
        Cursor.decode(page.next_cursor, Sort("cost_usd", False))
    assert info.value.param == "cursor"


@pytest.mark.parametrize(
    "text",
    ["", "nonsense", "eyJzIjoiLXN0YXJ0ZWRfYXQiLCJ2IjpudWxsLCJpZCI6ImEifQ", "W10"],
)
def test_forged_cursors_are_refused(text: str) -> None:
    # the third is {"s":"-started_at","v":null,"id":"a"}: started_at is never NULL
    with pytest.raises(FilterError) as info:
        Cursor.decode(text, Sort("started_at", True))
    assert info.value.param == "cursor"


def test_sort_and_limit_errors_name_the_parameter_and_the_choices() -> None:
    with pytest.raises(FilterError, match="latency_ms, ttft_ms") as info:
        Sort.parse("-price")
    assert info.value.param == "sort"
    for bad in ("0", "1001", "ten"):
        with pytest.raises(FilterError) as info:
            parse_limit(bad)
        assert info.value.param == "limit"
    assert parse_limit(None) == 50 and Sort.parse(None) == Sort("started_at", True)


def test_feedback_summaries_for_a_page_in_one_query(engine: Engine) -> None:
    with engine.connect() as conn:
        got = feedback.summaries(conn, [UP, DOWN, NOTE, RECORDS[0].id])
    assert got == {
        UP: {"up": 2, "down": 0, "notes": 0, "scores": {}},
        DOWN: {"up": 0, "down": 1, "notes": 0, "scores": {}},
        NOTE: {"up": 0, "down": 0, "notes": 1, "scores": {"accuracy": 0.75}},
    }


def test_export_batches_cover_every_row_in_page_order(engine: Engine) -> None:
    sort = Sort("ttft_ms", False)
    with engine.connect() as conn:
        batches = list(iter_batches(conn, CallFilter(), sort, batch_size=10))
    assert max(len(b) for b in batches) == 10
    assert [row["id"] for b in batches for row in b] == expected(RECORDS, sort)
