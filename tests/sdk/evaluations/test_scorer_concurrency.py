"""A row's scorers run at once, within the evaluation's ``parallelism``.

Each scorer here waits a little while counting how many scorers are running; the most seen
at once is the figure a user would notice (a run with three slow judges takes one judge's
time per row, not three). The results must be those of a run with scorers one at a time.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import wiretrace

from .contract_server import ContractServer

ROWS: list[dict[str, Any]] = [{"question": f"q{i}", "level": i} for i in range(8)]
PAUSE = 0.1


class InFlight:
    """How many scorers are running now, and the most there ever were."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.most = 0

    def enter(self) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def leave(self) -> None:
        with self._lock:
            self.now -= 1


def answer(question: str) -> str:
    return question.upper()


def sync_scorers(seen: InFlight) -> list[Callable[..., Any]]:
    @wiretrace.op
    def shouts(output: str) -> bool:
        seen.enter()
        time.sleep(PAUSE)
        seen.leave()
        return output.isupper()

    @wiretrace.op
    def length(output: str, level: int) -> int:
        seen.enter()
        time.sleep(PAUSE)
        seen.leave()
        return len(output) + level

    @wiretrace.op
    def picky(output: str, level: int) -> bool:
        seen.enter()
        time.sleep(PAUSE)
        seen.leave()
        if level == 3:
            raise ValueError("cannot judge level 3")
        return level % 2 == 0

    return [shouts, length, picky]


def run(
    scorers: list[Callable[..., Any]], parallelism: int, rows: int = len(ROWS)
) -> tuple[dict[str, Any], str]:
    evaluation = wiretrace.Evaluation(
        dataset=wiretrace.Dataset(name="concurrent", rows=ROWS[:rows]),
        scorers=scorers,
        parallelism=parallelism,
    )
    summary = evaluation.run(answer)
    summary.pop("model_latency")
    return summary, evaluation.run_id or ""


def test_plain_scorers_run_at_once_in_the_pool_and_score_as_one_at_a_time(
    traced: ContractServer,
) -> None:
    alone = InFlight()
    one_at_a_time, _ = run(sync_scorers(alone), parallelism=1)
    assert alone.most == 1

    seen = InFlight()
    summary, run_id = run(sync_scorers(seen), parallelism=4)
    assert seen.most == 4  # the pool's threads, shared with the model: never more
    assert summary == one_at_a_time

    assert summary["picky"]["n_errors"] == 1 and summary["n_scorer_errors"] == 1
    assert summary["shouts"] == {"true_count": 8, "true_fraction": 1.0, "n": 8, "n_errors": 0}
    stored = {row["row_index"]: row for row in traced.stored(run_id)}
    assert stored[3]["scorer_errors"] == {"picky": "ValueError: cannot judge level 3"}
    assert stored[3]["scores"] == {"shouts": True, "length": 5}  # the others still count
    assert stored[3]["output"] == "Q3"


def test_async_scorers_of_a_row_are_gathered_up_to_parallelism(traced: ContractServer) -> None:
    def async_scorers(seen: InFlight) -> list[Callable[..., Any]]:
        async def judged(output: str) -> None:
            seen.enter()
            await asyncio.sleep(PAUSE)
            seen.leave()

        @wiretrace.op
        async def first(output: str) -> bool:
            await judged(output)
            return True

        @wiretrace.op
        async def second(output: str) -> bool:
            await judged(output)
            return False

        @wiretrace.op
        async def third(output: str, level: int) -> int:
            await judged(output)
            if level == 0:
                raise RuntimeError("judge unavailable")
            return level

        return [first, second, third]

    one_row = InFlight()
    run(async_scorers(one_row), parallelism=10, rows=1)
    assert one_row.most == 3  # the row's three judges at once
    wide = InFlight()
    summary, run_id = run(async_scorers(wide), parallelism=10)
    assert wide.most == 10  # 8 rows' 24 judges, 10 at a time
    narrow = InFlight()
    narrow_summary, _ = run(async_scorers(narrow), parallelism=2)
    assert narrow.most == 2
    assert narrow_summary == summary

    assert summary["first"]["true_count"] == 8 and summary["second"]["true_count"] == 0
    assert summary["third"]["n_errors"] == 1 and summary["third"]["mean"] == sum(range(1, 8)) / 7
    stored = {row["row_index"]: row for row in traced.stored(run_id)}
    assert stored[0]["scorer_errors"] == {"third": "RuntimeError: judge unavailable"}
    assert stored[0]["scores"] == {"first": True, "second": False}


def test_the_scorer_spans_nest_under_their_row(traced: ContractServer) -> None:
    run(sync_scorers(InFlight()), parallelism=4)
    assert wiretrace.finish(10)
    rows = [span["id"] for span in traced.spans_named("Evaluation.predict_and_score")]
    assert len(rows) == len(ROWS)
    for name in ("shouts", "length", "picky"):
        parents = [span["parent_id"] for span in traced.spans_named(f"sync_scorers.{name}")]
        assert sorted(parents) == sorted(rows), name
