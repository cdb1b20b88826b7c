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
