"""Summaries: failed rows in every denominator, computed independently here."""

from __future__ import annotations

import statistics

from wiretrace._summaries import summarize_rows, summarize_scores


def test_booleans_count_failed_rows_as_not_true() -> None:
    summary = summarize_scores([True, True, False], n_errors=3)
    assert summary == {"true_count": 2, "true_fraction": 2 / 6, "n": 6, "n_errors": 3}


def test_numbers_mean_over_scored_rows_with_sample_stderr() -> None:
    values = [0.5, 1.0, 0.25, 0.75]
    summary = summarize_scores(values, n_errors=1)
    expected_stderr = statistics.stdev(values) / len(values) ** 0.5
    assert summary["mean"] == statistics.fmean(values)
    assert abs(float(summary["stderr"]) - expected_stderr) < 1e-12  # type: ignore[arg-type]
    assert (summary["n"], summary["n_errors"]) == (5, 1)


def test_one_number_has_no_stderr_and_no_numbers_no_mean() -> None:
    assert summarize_scores([3], 0) == {"mean": 3.0, "stderr": None, "n": 1, "n_errors": 0}
    assert summarize_scores([], 2) == {"n": 2, "n_errors": 2}


def test_dicts_recurse_per_key() -> None:
    values = [{"ratio": 1.0, "passed": True}, {"ratio": 0.5, "passed": False}, {"ratio": 0.0}]
    summary = summarize_scores(values, n_errors=1)
    assert summary["ratio"] == {
        "mean": 0.5,
        "stderr": statistics.stdev([1.0, 0.5, 0.0]) / 3**0.5,
        "n": 4,
        "n_errors": 1,
    }
    assert summary["passed"] == {"true_count": 1, "true_fraction": 0.25, "n": 4, "n_errors": 1}


def test_strings_only_count() -> None:
    assert summarize_scores(["a", "b"], 0) == {"n": 2, "n_errors": 0}


def test_rows_summary_is_independent_of_order() -> None:
    rows = [
        {"row_index": i, "trial": 0, "scores": {"m": i * 0.1, "ok": i % 2 == 0}} for i in range(10)
    ]
    rows.append({"row_index": 10, "trial": 0, "scores": {}, "model_error": {"type": "E"}})
    rows.append(
        {"row_index": 11, "trial": 0, "scores": {"ok": True}, "scorer_errors": {"m": "boom"}}
    )
    forward = summarize_rows(rows, ["m", "ok"])
    backward = summarize_rows(list(reversed(rows)), ["m", "ok"])
    assert forward == backward
    assert forward["ok"] == {"true_count": 6, "true_fraction": 6 / 12, "n": 12, "n_errors": 1}
    m = forward["m"]
    assert isinstance(m, dict) and m["n"] == 12 and m["n_errors"] == 2
