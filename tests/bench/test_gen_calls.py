"""``bench/gen_calls.py``, small: the 1M-call database of the UI's performance test and of
``make bench-query`` is made by it, so a drift from the stored row format (its own check
refuses to go on) or a search index left unfilled shows here, in seconds, not an hour into CI.
"""

from __future__ import annotations

import sys
from pathlib import Path

import sqlalchemy as sa
from wiretrace_proxy.storage import rollup_writes
from wiretrace_proxy.storage.engine import create_engine_for
from wiretrace_proxy.storage.filters import parse_filters
from wiretrace_proxy.storage.listing import Sort, fetch_page

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))
import gen_calls  # noqa: E402


def test_generated_calls_are_stored_indexed_and_counted(tmp_path: Path) -> None:
    db = tmp_path / "calls.db"
    result = gen_calls.generate(db, 3_000, workers=1, big_traces=1)
    assert result.rows == 3_000 and gen_calls.count_rows(db) == 3_000
    engine = create_engine_for(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            queued = conn.exec_driver_sql("SELECT count(*) FROM call_text_pending").scalar()
            indexed = conn.exec_driver_sql("SELECT count(*) FROM call_text_docsize").scalar()
            assert queued == 0 and indexed == 3_000
            page = fetch_page(conn, parse_filters({"q": "Zürich"}), Sort.parse(None), 20)
            assert page.records and all(
                "Zürich" in str(r.inputs) + str(r.output) for r in page.records
            )
            cells = conn.execute(sa.text("SELECT sum(calls) FROM call_rollups")).scalar()
        with engine.begin() as conn:
            rollup_writes.recount(conn)
            assert (
                conn.execute(sa.text("SELECT sum(calls) FROM call_rollups")).scalar()
                == cells
                == 3_000
            )
    finally:
        engine.dispose()
