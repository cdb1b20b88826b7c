"""``wiretrace.Evaluation`` against the fake OpenAI upstream and the contract stand-in.

The model is a ``wiretrace.Model`` whose ``predict`` makes a real ``openai`` call to the
fake upstream; rows, runs and spans go to the in-memory contract server. Summaries are
checked against a computation written out here, row by row.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import statistics
import time
from typing import Any

import openai
import pytest
import wiretrace

from tests.fakes.fake_streams import ANSWER

from .conftest import Upstream
from .contract_server import ContractServer

QUESTIONS = [f"question {i}" for i in range(10)]
ROWS: list[dict[str, Any]] = [
    {"question": q, "target": ANSWER if i % 3 else "something else", "level": i}
    for i, q in enumerate(QUESTIONS)
]


class Answerer(wiretrace.Model):
    client: Any = dataclasses.field(default=None, repr=False)
    system_prompt: str = "Answer briefly."
    scenario: str = ""

    @wiretrace.op
    def predict(self, question: str) -> str:
        headers = {"x-fake-scenario": self.scenario} if self.scenario else {}
        reply = self.client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": self.system_prompt},
                {"role": "user", "content": question},
            ],
            extra_headers=headers,
        )
        return str(reply.choices[0].message.content)


@wiretrace.op
def exact_match(target: str, output: str) -> bool:
    return output.strip() == target


class Close(wiretrace.Scorer):
    threshold: float = 0.5

    @wiretrace.op
    def score(self, *, output: str, reference: str) -> dict[str, Any]:
        ratio = len(set(output) & set(reference)) / max(len(set(output) | set(reference)), 1)
        return {"ratio": ratio, "passed": ratio >= self.threshold}


def close_ratio(output: str, reference: str) -> float:
    return len(set(output) & set(reference)) / max(len(set(output) | set(reference)), 1)


def test_function_and_class_scorers_summarise_like_an_independent_count(
    traced: ContractServer, upstream: Upstream
) -> None:
    dataset = wiretrace.Dataset(name="questions", rows=ROWS)
    evaluation = wiretrace.Evaluation(
        name="questions-eval",
        dataset=dataset,
        scorers=[exact_match, Close(column_map={"reference": "target"})],
        parallelism=4,
    )
    summary = asyncio.run(evaluation.evaluate(Answerer(client=upstream.client)))

    matches = [ANSWER == row["target"] for row in ROWS]
    ratios = [close_ratio(ANSWER, str(row["target"])) for row in ROWS]
    assert summary["exact_match"] == {
        "true_count": sum(matches),
        "true_fraction": sum(matches) / len(ROWS),
        "n": len(ROWS),
        "n_errors": 0,
    }
    close = summary["Close"]
    assert close["ratio"]["mean"] == pytest.approx(statistics.fmean(ratios))
    assert close["ratio"]["stderr"] == pytest.approx(
        statistics.stdev(ratios) / math.sqrt(len(ratios))
    )
    assert close["passed"]["true_count"] == sum(r >= 0.5 for r in ratios)
    assert (summary["n_rows"], summary["n_ok"], summary["n_model_errors"]) == (10, 10, 0)
    assert summary["model_latency"]["mean"] > 0
    assert upstream.requests() == len(ROWS)

    run = traced.runs[evaluation.run_id or ""]
    assert run["status"] == "finished" and run["summary"]["exact_match"] == summary["exact_match"]
    assert run["dataset"] == {"name": "questions", "version": dataset.version}
    assert [s["name"] for s in run["scorers"]] == ["exact_match", "Close"]
    assert run["model"]["name"] == "Answerer" and run["n_rows"] == 10
    stored = traced.stored(run["id"])
    assert [row["row_index"] for row in stored] == list(range(10))
    assert all(
        row["output"] == ANSWER and row["inputs"] == ROWS[row["row_index"]] for row in stored
    )
    assert traced.datasets[0]["rows"] == ROWS


def test_the_trace_has_one_predict_and_score_per_row_with_predict_and_scorers_under_it(
    traced: ContractServer, upstream: Upstream
) -> None:
    evaluation = wiretrace.Evaluation(
        dataset=wiretrace.Dataset(name="q", rows=ROWS[:3]),
        scorers=[exact_match, Close(column_map={"reference": "target"})],
        trials=2,
    )
    evaluation.run(Answerer(client=upstream.client))
    assert wiretrace.finish(10)
    (root,) = traced.spans_named("Evaluation.evaluate")
    rows = traced.spans_named("Evaluation.predict_and_score")
    assert len(rows) == 6 and {r["parent_id"] for r in rows} == {root["id"]}
    assert sorted((r["inputs"]["row_index"], r["inputs"]["trial"]) for r in rows) == [
        (i, t) for i in range(3) for t in range(2)
    ]
    for name in ("Answerer.predict", "exact_match", "Close.score"):
        children = traced.spans_named(name)
        assert sorted(c["parent_id"] for c in children) == sorted(r["id"] for r in rows), name
    (summarize,) = traced.spans_named("Evaluation.summarize")
    assert summarize["parent_id"] == root["id"]
    assert root["output"]["exact_match"]["n"] == 6
    stored = traced.stored(evaluation.run_id or "")
    by_row = {r["id"]: r for r in rows}
    assert all(by_row[row["span_id"]]["inputs"]["row_index"] == row["row_index"] for row in stored)


def test_a_scorer_parameter_matching_no_column_fails_before_any_model_call(
    traced: ContractServer, upstream: Upstream
) -> None:
    evaluation = wiretrace.Evaluation(
        dataset=wiretrace.Dataset(name="q", rows=ROWS), scorers=[exact_match, Close()]
    )
    with pytest.raises(TypeError) as raised:
        evaluation.run(Answerer(client=upstream.client))
    message = str(raised.value)
    assert "scorer Close" in message and "'reference'" in message
    assert "'question', 'target', 'level'" in message
    assert "renaming the parameter" in message and "column_map" in message
    assert upstream.fake.seen == [] and traced.runs == {}


def test_a_model_parameter_matching_no_column_names_the_fixes(upstream: Upstream) -> None:
    @wiretrace.op
    def answer(prompt: str) -> str:
        return prompt

    evaluation = wiretrace.Evaluation(dataset=wiretrace.Dataset(name="q", rows=ROWS))
    with pytest.raises(TypeError, match="model answer: parameter 'prompt'.*preprocess_model_input"):
        evaluation.run(answer)
    renamed = wiretrace.Evaluation(
        dataset=wiretrace.Dataset(name="q", rows=ROWS[:2]),
        scorers=[exact_match],
        preprocess_model_input=lambda row: {"prompt": row["target"]},
    )
    summary = renamed.run(answer)  # the scorers still see the row's own columns
    assert summary["exact_match"]["true_count"] == 2


def test_failed_rows_are_counted_and_a_scorer_error_keeps_the_output(
    traced: ContractServer, upstream: Upstream
) -> None:
    @wiretrace.op
    def flaky(question: str, level: int) -> str:
        if level % 4 == 0:
            raise RuntimeError(f"model down for {question}")
        return question.upper()

    @wiretrace.op
    def fragile(output: str, level: int) -> bool:
        if level == 5:
            raise ValueError("cannot score level 5")
        return output.endswith(str(level))

    evaluation = wiretrace.Evaluation(
        dataset=wiretrace.Dataset(name="q", rows=ROWS), scorers=[fragile]
    )
    summary = evaluation.run(flaky)
    model_failed = [row["level"] for row in ROWS if int(row["level"]) % 4 == 0]  # 0, 4, 8
    assert summary["n_model_errors"] == len(model_failed) == 3
    assert summary["n_scorer_errors"] == 1 and summary["n_ok"] == 6
    assert summary["fragile"] == {"true_count": 6, "true_fraction": 0.6, "n": 10, "n_errors": 4}
    stored = {row["row_index"]: row for row in traced.stored(evaluation.run_id or "")}
    assert stored[5]["output"] == "QUESTION 5" and stored[5]["scores"] == {}
    assert stored[5]["scorer_errors"] == {"fragile": "ValueError: cannot score level 5"}
    assert stored[4]["model_error"] == {
        "type": "RuntimeError",
        "message": "model down for question 4",
    }
    assert stored[4]["scores"] == {} and stored[4]["output"] is None


@pytest.mark.parametrize("parallelism", [1, 4])
def test_parallelism_is_the_most_model_calls_the_upstream_sees_at_once(
    traced: ContractServer, upstream: Upstream, parallelism: int
) -> None:
    evaluation = wiretrace.Evaluation(
        dataset=wiretrace.Dataset(name="q", rows=ROWS[:8]), parallelism=parallelism
    )
    summary = evaluation.run(Answerer(client=upstream.client, scenario="slow_0.15"))
    assert summary["n_ok"] == 8
    assert upstream.fake.max_in_flight == parallelism


def test_the_parallelism_variable_is_only_a_fallback(
    traced: ContractServer, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIRETRACE_PARALLELISM", "3")
    model = Answerer(client=upstream.client, scenario="slow_0.15")
    wiretrace.Evaluation(dataset=wiretrace.Dataset(name="q", rows=ROWS[:6])).run(model)
    assert upstream.fake.max_in_flight == 3
    upstream.fake.max_in_flight = 0
    rows = wiretrace.Dataset(name="q", rows=ROWS[:6])
    wiretrace.Evaluation(dataset=rows, parallelism=2).run(model)
    assert upstream.fake.max_in_flight == 2


def test_rate_limited_rows_are_retried_and_counted(
    traced: ContractServer, upstream: Upstream
) -> None:
    attempts: dict[str, int] = {}

    @wiretrace.op
    def limited(question: str) -> str:
        attempts[question] = attempts.get(question, 0) + 1
        scenario = "error_429" if attempts[question] <= 2 else ""  # the fake: Retry-After: 0
        reply = upstream.client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": question}],
            extra_headers={"x-fake-scenario": scenario},
        )
        return str(reply.choices[0].message.content)

    evaluation = wiretrace.Evaluation(
        dataset=wiretrace.Dataset(name="q", rows=ROWS[:4]), scorers=[exact_match]
    )
    summary = evaluation.run(limited)
    assert summary["n_ok"] == 4 and summary["n_rate_limit_retries"] == 8
    assert upstream.requests() == 12

    always = wiretrace.Evaluation(
        dataset=wiretrace.Dataset(name="q", rows=ROWS[:1]), max_rate_limit_retries=2
    )
    attempts.clear()

    @wiretrace.op
    def never(question: str) -> str:
        attempts[question] = attempts.get(question, 0) + 1
        upstream.client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": question}],
            extra_headers={"x-fake-scenario": "error_429"},
        )
        return ""

    summary = always.run(never)
    assert summary["n_model_errors"] == 1 and attempts == {"question 0": 3}
    stored = traced.stored(always.run_id or "")
    assert stored[0]["model_error"]["type"] == "RateLimitError"


def test_a_server_that_is_down_still_gives_the_summary(
    upstream: Upstream, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.sdk.collector import free_port

    monkeypatch.delenv("WIRETRACE_QUIET", raising=False)
    wiretrace.init(url=f"http://127.0.0.1:{free_port()}")
    evaluation = wiretrace.Evaluation(
        dataset=wiretrace.Dataset(name="q", rows=ROWS[:3]), scorers=[exact_match]
    )
    summary = evaluation.run(Answerer(client=upstream.client))
    assert summary["exact_match"]["n"] == 3 and summary["n_ok"] == 3
    err = capsys.readouterr().err
    assert f"run {evaluation.run_id}" in err and f"/evaluations/{evaluation.run_id}" in err
    assert "3/3 rows, 0 errors" in err
    assert "3 rows of run" in err and f"resume={evaluation.run_id!r}" in err


def test_an_async_model_and_async_scorer(traced: ContractServer) -> None:
    @wiretrace.op
    async def echo(question: str) -> str:
        await asyncio.sleep(0)
        return question

    @wiretrace.op
    async def same(output: str, question: str) -> bool:
        return output == question

    evaluation = wiretrace.Evaluation(
        dataset=wiretrace.Dataset(name="q", rows=ROWS), scorers=[same], trials=3
    )
    summary = asyncio.run(evaluation.evaluate(echo))
    assert summary["same"] == {"true_count": 30, "true_fraction": 1.0, "n": 30, "n_errors": 0}


def test_a_custom_summarize_replaces_the_standard_summary(traced: ContractServer) -> None:
    class Longest(wiretrace.Scorer):
        @wiretrace.op
        def score(self, *, output: str) -> int:
            return len(output)

        def summarize(self, rows: list[Any]) -> dict[str, Any]:
            return {"max": max(rows)}

    summary = wiretrace.Evaluation(
        dataset=wiretrace.Dataset(name="q", rows=ROWS), scorers=[Longest()]
    ).run(lambda question: question * 2)
    assert summary["Longest"] == {"max": len("question 0") * 2, "n": 10, "n_errors": 0}


def test_proxied_requests_carry_the_row_headers_only_while_the_model_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.sdk.fake_openai import FakeOpenAI

    monkeypatch.setenv("WIRETRACE_QUIET", "1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-eval-0000")
    fake = FakeOpenAI()  # the "proxy": requests meant for api.openai.com go here
    try:
        client = openai.OpenAI(max_retries=0)
        wiretrace.init(project="evals", url=fake.url)

        @wiretrace.op
        def ask(question: str) -> str:
            messages: Any = [{"role": "user", "content": question}]
            reply = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
            return str(reply.choices[0].message.content)

        @wiretrace.op
        def judged(output: str) -> bool:
            messages: Any = [{"role": "user", "content": "judge " + output}]
            client.chat.completions.create(model="gpt-4o-mini", messages=messages)
            return True

        evaluation = wiretrace.Evaluation(
            dataset=wiretrace.Dataset(name="q", rows=ROWS[:3]), scorers=[judged], trials=2
        )
        evaluation.run(ask)
        client.close()
    finally:
        fake.stop()

    def content(seen: Any) -> str:
        return str(seen.body["messages"][0]["content"])

    predicts = [s for s in fake.seen if not content(s).startswith("judge")]
    judges = [s for s in fake.seen if content(s).startswith("judge")]
    assert len(predicts) == 6 and len(judges) == 6
    assert {s.headers["wiretrace-eval-run"] for s in predicts} == {evaluation.run_id}
    rows = sorted((content(s), s.headers["wiretrace-eval-row"]) for s in predicts)
    assert rows == sorted((f"question {i}", f"{i}:{t}") for i in range(3) for t in range(2))
    assert all("traceparent" in s.headers for s in predicts)
    assert not any("wiretrace-eval-run" in s.headers for s in judges)


def test_a_slow_run_sends_heartbeats(
    traced: ContractServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wiretrace import _eval_report

    monkeypatch.setattr(_eval_report, "HEARTBEAT", 0.2)
    monkeypatch.setattr(_eval_report, "INTERVAL", 0.05)

    def slow(question: str) -> str:
        time.sleep(0.5)
        return question

    wiretrace.Evaluation(dataset=wiretrace.Dataset(name="q", rows=ROWS[:2])).run(slow)
    assert 0 in traced.row_posts  # an empty batch while the rows were still running
    assert sum(traced.row_posts) == 2


async def test_run_inside_an_event_loop_says_to_await_evaluate(traced: ContractServer) -> None:
    evaluation = wiretrace.Evaluation(dataset=wiretrace.Dataset(name="q", rows=ROWS[:2]))
    with pytest.raises(RuntimeError, match="await evaluation.evaluate"):
        evaluation.run(lambda question: question)
    summary = await evaluation.evaluate(lambda question: question)
    assert summary["n_ok"] == 2


def test_a_large_dataset_reaches_the_server_whole(traced: ContractServer) -> None:
    rows = [{"question": f"q{i}", "text": "x" * 20_000} for i in range(1_500)]
    dataset = wiretrace.Dataset(name="big", rows=rows)
    wiretrace.Evaluation(dataset=dataset).run(lambda question: question)
    (posted,) = traced.datasets
    assert posted["rows"] == rows  # no item or string limit on what is stored
    from wiretrace._dataset import canonical_digest

    assert canonical_digest(posted["rows"]) == dataset.version


def test_a_scorer_may_name_the_output_model_output(traced: ContractServer) -> None:
    @wiretrace.op
    def legacy(target: str, model_output: str) -> bool:
        return model_output == target

    @wiretrace.op
    def confused(output: str, model_output: str) -> bool:
        return True

    dataset = wiretrace.Dataset(name="q", rows=ROWS[:3])
    summary = wiretrace.Evaluation(dataset=dataset, scorers=[legacy]).run(lambda target: target)
    assert summary["legacy"]["true_count"] == 3
    with pytest.raises(TypeError, match="'output' or 'model_output', not both"):
        wiretrace.Evaluation(dataset=dataset, scorers=[confused]).run(lambda target: target)
