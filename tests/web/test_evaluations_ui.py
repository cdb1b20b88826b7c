"""Evaluations and datasets in a real browser against a real server.

Two runs of one evaluation are reported the way any language reports them (the logging API:
create, rows, finish without a summary, so the server computes it), one with a model error
and a scorer error; a dataset is made from recorded calls with the traces table's "Make a
dataset". Every figure the pages show is checked against an independent computation from
the rows this module sent, or against the API's own answer.
"""

from __future__ import annotations

import re
import secrets
import urllib.parse
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import UiServer, screenshot

QUESTIONS = ["France", "Peru", "Japan", "Kenya", "Chile", "Nepal"]
TARGETS = ["Paris", "Lima", "Tokyo", "Nairobi", "Santiago", "Kathmandu"]
# Per row: the baseline's exact-match result, the candidate's (None: the model failed).
BASELINE: list[bool | None] = [True, True, False, True, False, None]
CANDIDATE: list[bool | None] = [True, False, True, True, False, True]


@dataclass
class Runs:
    evaluation: str
    baseline: str
    candidate: str
    trace_id: str


def _rows(results: list[bool | None], trace_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i, (question, target, ok) in enumerate(zip(QUESTIONS, TARGETS, results, strict=True)):
        row: dict[str, Any] = {
            "row_index": i,
            "trial": 0,
            "inputs": {"question": f"Capital of {question}?", "target": target},
            "latency_ms": 100.0 + i,
            "trace_id": trace_id,
        }
        if ok is None:
            row["model_error"] = {"type": "RateLimitError", "message": "429 after 3 retries"}
        else:
            row["output"] = target if ok else "I do not know"
            row["scores"] = {"exact_match": ok, "similarity": 1.0 if ok else 0.25}
            if i == 2:  # a scorer that crashed keeps the model's output
                row["scorer_errors"] = {"judge": "judge timed out"}
        rows.append(row)
    return rows


def _report(
    server: UiServer, evaluation: str, model: str, results: list[bool | None], trace: str
) -> str:
    run_id = secrets.token_hex(8)
    server.post(
        "/api/evaluations/runs",
        {
            "id": run_id,
            "evaluation": {"name": evaluation, "version": "e1"},
            "dataset": {"name": f"{evaluation}-data", "version": "d1"},
            "model": {"name": model, "version": "m1"},
            "scorers": [
                {"name": "exact_match", "version": "s1"},
                {"name": "similarity", "version": "s1"},
            ],
            "trials": 1,
            "n_rows": len(results),
        },
    )
    server.post(f"/api/evaluations/runs/{run_id}/rows", {"rows": _rows(results, trace)})
    server.post(f"/api/evaluations/runs/{run_id}/finish", {"status": "finished"})
    return run_id


@pytest.fixture(scope="module")
def runs(ui_server: UiServer) -> Runs:
    evaluation = f"capitals-{secrets.token_hex(3)}"
    trace = ui_server.seeded.trace_id
    baseline = _report(ui_server, evaluation, "gpt-4o-mini", BASELINE, trace)
    candidate = _report(ui_server, evaluation, "gpt-4.1-nano", CANDIDATE, trace)
    return Runs(evaluation, baseline, candidate, trace)


def _fraction(results: list[bool | None]) -> float:
    """What a summary must say: failed rows count in the denominator, never as passes."""
    return sum(1 for r in results if r is True) / len(results)


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def test_the_runs_list_shows_each_run_with_its_metric_and_errors(
    page: Page, ui_server: UiServer, runs: Runs
) -> None:
    page.goto(f"{ui_server.url}/evaluations?evaluation={runs.evaluation}")
    rows = page.get_by_test_id("run-row")
    expect(rows).to_have_count(2)
    for run_id, results in ((runs.baseline, BASELINE), (runs.candidate, CANDIDATE)):
        row = page.locator(f"[data-testid=run-row][data-run='{run_id}']")
        metric = row.locator("[data-testid=run-metric][data-metric='exact_match.true_fraction']")
        expect(metric).to_contain_text(_pct(_fraction(results)))
        errors = sum(1 for r in results if r is None) + 1  # plus the crashed judge on row 2
        expect(row.get_by_test_id("run-errors")).to_have_text(str(errors))
        expect(row.get_by_test_id("run-status")).to_have_text("finished")
    page.get_by_test_id("filter-status").select_option("running")
    expect(page.get_by_test_id("evaluations-empty")).to_be_visible()
    screenshot(page, "evaluations-empty-filter")


def test_a_run_page_counts_failed_rows_and_marks_them(
    page: Page, ui_server: UiServer, runs: Runs
) -> None:
    page.goto(f"{ui_server.url}/evaluations/{runs.baseline}")
    card = page.locator("[data-testid=summary-metric][data-metric='exact_match.true_fraction']")
    expect(card).to_contain_text(_pct(_fraction(BASELINE)))
    expect(card).to_contain_text("n 6")
    expect(card).to_contain_text("1 failed")
    expect(page.get_by_test_id("run-counts")).to_contain_text("1 model error")
    rows = page.get_by_test_id("run-row-item")
    expect(rows).to_have_count(len(BASELINE))
    failed = page.locator("[data-testid=run-row-item][data-failed=true]")
    expect(failed).to_have_count(2)  # the model error (row 5) and the crashed judge (row 2)
    expect(page.locator("[data-row='5'] [data-testid=row-model-error]")).to_contain_text(
        "429 after 3 retries"
    )
    expect(page.locator("[data-row='2'] [data-testid=row-output]")).to_have_text("I do not know")
    expect(page.locator("[data-row='2'] [data-scorer=judge]")).to_contain_text("judge timed out")
    screenshot(page, "evaluation-run")
    page.get_by_test_id("failed-only").check()
    expect(rows).to_have_count(2)
    page.locator("[data-row='5'] [data-testid=row-trace]").click()
    expect(page).to_have_url(re.compile(f"/traces/{runs.trace_id}"))


def test_compare_shows_deltas_flips_and_the_flipped_rows(
    page: Page, ui_server: UiServer, runs: Runs
) -> None:
    page.goto(f"{ui_server.url}/evaluations?evaluation={runs.evaluation}")
    page.locator(f"[data-run='{runs.baseline}'] [data-testid=run-pick]").check()
    page.locator(f"[data-run='{runs.candidate}'] [data-testid=run-pick]").check()
    page.get_by_test_id("compare-runs").click()
    expect(page.get_by_test_id("evaluation-compare-page")).to_be_visible()
    query = urllib.parse.urlencode(
        {"runs": f"{runs.baseline},{runs.candidate}", "baseline": runs.baseline}
    )
    api = ui_server.get(f"/api/evaluations/compare?{query}")
    exact = next(m for m in api["metrics"] if m["metric"] == "exact_match.true_fraction")
    delta = _fraction(CANDIDATE) - _fraction(BASELINE)
    assert exact["deltas"][runs.candidate] == pytest.approx(delta)
    metric = page.locator("[data-testid=compare-metric][data-metric='exact_match.true_fraction']")
    sign = "+" if delta > 0 else "−"
    expect(metric.get_by_test_id("metric-delta")).to_contain_text(
        f"{sign}{abs(delta) * 100:.1f} pp"
    )
    # Independent flips: a failed row is a fail (row 5 failed in the baseline only).
    was = [r is True for r in BASELINE]
    now = [r is True for r in CANDIDATE]
    pass_to_fail = sum(1 for a, b in zip(was, now, strict=True) if a and not b)
    fail_to_pass = sum(1 for a, b in zip(was, now, strict=True) if b and not a)
    flips = metric.get_by_test_id("metric-flips")
    expect(flips).to_contain_text(f"{pass_to_fail} pass→fail")
    expect(flips).to_contain_text(f"{fail_to_pass} fail→pass")
    expect(page.get_by_test_id("compare-chart")).to_have_count(len(api["metrics"]))
    expect(page.get_by_test_id("compare-row")).to_have_count(len(BASELINE))
    page.get_by_test_id("rows-filter-flips").check()
    flipped = [str(i) for i, (a, b) in enumerate(zip(was, now, strict=True)) if a != b]
    expect(page.get_by_test_id("compare-row")).to_have_count(len(flipped))
    assert (
        page.get_by_test_id("compare-row").evaluate_all("rows => rows.map(r => r.dataset.row)")
        == flipped
    )
    page.get_by_test_id("rows-filter-regressions").check()
    expect(page.get_by_test_id("compare-row")).to_have_count(pass_to_fail)
    screenshot(page, "evaluation-compare")


def test_compare_warns_when_runs_used_different_dataset_versions(
    page: Page, ui_server: UiServer, runs: Runs
) -> None:
    other = _report(ui_server, runs.evaluation, "gpt-4o", CANDIDATE, runs.trace_id)
    ui_server.post(
        "/api/evaluations/runs",
        {
            "id": other + "x",
            "evaluation": {"name": runs.evaluation, "version": "e1"},
            "dataset": {"name": f"{runs.evaluation}-data", "version": "d2"},
            "model": {"name": "gpt-4o", "version": "m2"},
            "scorers": [{"name": "exact_match", "version": "s1"}],
            "n_rows": 1,
        },
    )
    ui_server.post(
        f"/api/evaluations/runs/{other}x/rows",
        {"rows": [{"row_index": 0, "output": "Paris", "scores": {"exact_match": True}}]},
    )
    page.goto(
        f"{ui_server.url}/evaluations/compare?runs={runs.baseline},{other}x&baseline={runs.baseline}"
    )
    expect(page.get_by_test_id("compare-warning").first).to_contain_text("dataset")


def test_a_dataset_made_from_the_traces_table_holds_the_calls_exact_requests(
    page: Page, ui_server: UiServer
) -> None:
    user = f"ds-{secrets.token_hex(3)}"
    ids = [
        ui_server.chat(f"dataset question {n}", headers={"Wiretrace-User-Id": user})
        for n in range(3)
    ]
    page.goto(f"{ui_server.url}/?user_id={user}")
    expect(page.get_by_test_id("row-count")).to_contain_text("3")
    page.get_by_test_id("make-dataset").click()
    name = f"from-calls-{user}"
    page.get_by_test_id("dataset-name").fill(name)
    page.get_by_test_id("dataset-create").click()
    expect(page.get_by_test_id("dataset-page")).to_be_visible()
    expect(page.get_by_test_id("dataset-row-item")).to_have_count(3)
    expect(page.get_by_test_id("dataset-source").first).to_contain_text(f"user_id={user}")
    rows = ui_server.get(f"/api/datasets/{name}/rows")["rows"]
    assert sorted(r["values"]["source_call_id"] for r in rows) == sorted(ids)
    for row in rows:
        call = ui_server.get(f"/api/calls/{row['values']['source_call_id']}")
        assert row["values"]["inputs"] == call["inputs"]
    page.get_by_role("link", name="Datasets").first.click()
    expect(page.locator(f"[data-testid=dataset-row][data-dataset='{name}']")).to_be_visible()
    screenshot(page, "datasets")
