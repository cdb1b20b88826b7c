"""``wiretrace.EvaluationLogger``: a run reported from the user's own loop."""

from __future__ import annotations

from typing import Any

import openai
import pytest
import wiretrace

from .contract_server import ContractServer


def test_logged_predictions_become_rows_and_the_summary_counts_them(
    traced: ContractServer,
) -> None:
    rows = [{"q": "a", "target": "A"}, {"q": "b", "target": "B"}, {"q": "c", "target": "X"}]
    ev = wiretrace.EvaluationLogger(name="manual", model="gpt-4o-mini", dataset="letters")
    for row in rows:
        output = row["q"].upper()
        pred = ev.log_prediction(inputs=row, output=output)
        pred.log_score("exact", output == row["target"])
        pred.log_score("length", len(output))
        if row["q"] == "c":
            pred.log_error("judge", "timeout")
        else:
            pred.log_score("judge", {"passed": True})
        pred.finish()
    summary = ev.log_summary({"note": "by hand"})

    assert summary["exact"] == {"true_count": 2, "true_fraction": 2 / 3, "n": 3, "n_errors": 0}
    assert summary["judge"]["passed"] == {
        "true_count": 2,
        "true_fraction": 2 / 3,
        "n": 3,
        "n_errors": 1,
    }
    assert summary["note"] == "by hand"
    run = traced.runs[ev.run_id]
    assert run["status"] == "finished" and run["summary"] == summary
    assert run["model"]["name"] == "gpt-4o-mini" and run["dataset"]["name"] == "letters"
    stored = traced.stored(ev.run_id)
    assert [(r["row_index"], r["output"]) for r in stored] == [(0, "A"), (1, "B"), (2, "C")]
    assert stored[2]["scorer_errors"] == {"judge": "timeout"}


def test_calls_inside_an_open_prediction_carry_its_row(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.sdk.fake_openai import FakeOpenAI

    monkeypatch.setenv("WIRETRACE_QUIET", "1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-eval-0000")
    fake = FakeOpenAI()  # the "proxy" and the server: it records what reaches it
    try:
        client = openai.OpenAI(max_retries=0)
        wiretrace.init(url=fake.url)
        ev = wiretrace.EvaluationLogger(name="manual")
        for question in ("a", "b"):
            with ev.log_prediction(inputs={"q": question}) as pred:
                messages: Any = [{"role": "user", "content": question}]
                reply = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
                pred.output = reply.choices[0].message.content
                pred.log_score("said_hello", pred.output == "hello")
        client.chat.completions.create(model="gpt-4o-mini", messages=messages)  # after: none
        summary = ev.log_summary()
        client.close()
    finally:
        fake.stop()
    assert summary["said_hello"]["true_count"] == 2
    rows = [seen.headers.get("wiretrace-eval-row") for seen in fake.seen]
    assert rows == ["0:0", "1:0", None]
    assert {seen.headers.get("wiretrace-eval-run") for seen in fake.seen[:2]} == {ev.run_id}


def test_the_trace_has_a_run_span_and_one_span_per_prediction(traced: ContractServer) -> None:
    @wiretrace.op(name="shout")
    def shout(text: str) -> str:
        return text.upper()

    ev = wiretrace.EvaluationLogger(name="traced-manual")
    for letter in ("a", "b", "c"):
        with ev.log_prediction(inputs={"q": letter}) as pred:
            pred.output = shout(letter)  # an op made for the prediction nests under it
            pred.log_score("upper", pred.output.isupper())
    outside = shout("after")  # no prediction open: a root of its own
    summary = ev.log_summary()
    assert wiretrace.finish(10) and outside == "AFTER"

    (root,) = traced.spans_named("Evaluation.evaluate")
    assert root["inputs"]["run_id"] == ev.run_id and root["output"] == summary
    rows = traced.spans_named("Evaluation.predict_and_score")
    assert {r["parent_id"] for r in rows} == {root["id"]}
    assert {r["trace_id"] for r in rows} == {root["trace_id"]}
    assert sorted(r["inputs"]["row_index"] for r in rows) == [0, 1, 2]
    by_id = {r["id"]: r for r in rows}
    shouts = traced.spans_named("shout")
    inner = [s for s in shouts if s["inputs"]["text"] != "after"]
    assert sorted(by_id[s["parent_id"]]["inputs"]["example"]["q"] for s in inner) == ["a", "b", "c"]
    (after,) = [s for s in shouts if s["inputs"]["text"] == "after"]
    assert after["parent_id"] is None
    stored = traced.stored(ev.run_id)
    assert all(by_id[row["span_id"]]["inputs"]["row_index"] == row["row_index"] for row in stored)
    assert all(by_id[row["span_id"]]["output"]["scores"] == row["scores"] for row in stored)


def test_a_failed_run_ends_its_span_as_an_error(traced: ContractServer) -> None:
    ev = wiretrace.EvaluationLogger(name="broken-manual")
    ev.log_example({"q": "a"}, "A", {"exact": True})
    ev.fail(RuntimeError("harness crashed"))
    assert wiretrace.finish(10)
    (root,) = traced.spans_named("Evaluation.evaluate")
    assert root["status"] == "error" and root["error"]["message"] == "harness crashed"
    assert traced.runs[ev.run_id]["status"] == "failed"
