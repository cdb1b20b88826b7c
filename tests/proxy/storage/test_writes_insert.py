"""storage.engine.insert_many: SQLite's fast insert path stores exactly what Core stores.

The writer inserts through ``insert_many`` on SQLite (less CPU per row than Core's
executemany); every stored value must be the text, number or NULL Core would have stored,
so reads, sorts and filters cannot tell the two paths apart.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from wiretrace_proxy.callrecord import CallRecord, Usage
from wiretrace_proxy.storage import calls
from wiretrace_proxy.storage import writes as queries
from wiretrace_proxy.storage.engine import insert_many
from wiretrace_proxy.storage.models import CALLS
from wiretrace_proxy.storage.rows import record_to_row

from tests.factories import make_record


def _records(base: int) -> list[CallRecord]:
    """Records covering every kind of column value: NULLs, JSON shapes, odd times."""
    offset = timezone(timedelta(hours=-7, minutes=-30))
    return [
        make_record(base + 1),
        make_record(
            base + 2,
            started_at=datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=offset),
            ended_at=None,
            latency_ms=None,
            overhead_ms=3,  # an int in a float column: Core stores a REAL
            usage=Usage(1, None, 1, 0, None),
            inputs={"raw": "x\u0000y ✓ \ud800", "n": [1, 2.5, -0.0, 1e300, None, True]},
            output="a plain string",
            error={"message": "boom", "type": None, "code": 3},
            attributes={},
            display_name="résumé 🚀",
        ),
        make_record(
            base + 3,
            started_at=datetime(2024, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            inputs=None,
            output=[],
            usage=None,
            usage_source=None,
            cost_usd=0.1 + 0.2,
            kind="op",
            op_version="v" * 64,
            prompt_digest="d" * 16,
        ),
    ]


def _stored(engine: Engine) -> dict[str, tuple[object, ...]]:
    """Every column as SQLite holds it (raw text, typed by ``typeof``), per id."""
    names = [c.name for c in CALLS.c]
    select = ", ".join(f"{n}, typeof({n})" for n in names)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f"SELECT {select} FROM calls").all()
    return {row[0]: tuple(row) for row in rows}


def test_fast_path_rows_equal_core_rows_column_by_column(engine: Engine) -> None:
    fast = _records(0x100)
    core = [dataclasses.replace(r, id=f"c{r.id[1:]}") for r in fast]
    with engine.begin() as conn:
        queries.insert_records(conn, fast)  # SQLite: insert_many
        conn.execute(sa.insert(CALLS), [record_to_row(r) for r in core])
    stored = _stored(engine)
    names = [c.name for c in CALLS.c]
    for a, b in zip(fast, core, strict=True):
        got, want = stored[a.id], stored[b.id]
        for i, name in enumerate(names):
            if name != "id":
                assert got[2 * i : 2 * i + 2] == want[2 * i : 2 * i + 2], name
    with engine.connect() as conn:
        for rec in fast:
            assert calls.get_call(conn, rec.id) == rec


def test_a_value_core_refuses_is_refused_the_same_way(engine: Engine) -> None:
    naive = make_record(1, started_at=datetime(2024, 6, 1, 12, 0))
    with pytest.raises(sa.exc.StatementError, match="naive datetime") as fast:
        with engine.begin() as conn:
            queries.insert_records(conn, [naive])
    with pytest.raises(sa.exc.StatementError, match="naive datetime") as core:
        with engine.begin() as conn:
            conn.execute(sa.insert(CALLS), [record_to_row(naive)])
    assert type(fast.value) is type(core.value)
    assert str(fast.value).splitlines()[0] == str(core.value).splitlines()[0]


def test_duplicates_raise_integrity_error_and_the_batch_is_rolled_back(engine: Engine) -> None:
    with pytest.raises(sa.exc.IntegrityError):
        with engine.begin() as conn:
            queries.insert_records(conn, [make_record(1), make_record(2), make_record(1)])
    assert _stored(engine) == {}


def test_one_row_and_no_rows(engine: Engine) -> None:
    with engine.begin() as conn:
        insert_many(conn, CALLS, [])
        insert_many(conn, CALLS, [record_to_row(make_record(7))])
    assert list(_stored(engine)) == [f"{7:016x}"]


def test_a_column_set_missing_a_defaulted_column_is_refused(engine: Engine) -> None:
    row = record_to_row(make_record(8))
    del row["kind"]  # Core would fill in the default: the fast path does not guess
    with pytest.raises(ValueError, match="kind"):
        with engine.begin() as conn:
            insert_many(conn, CALLS, [row])
