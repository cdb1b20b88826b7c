"""``GET /api/evaluations/compare``: deltas, paired bootstrap intervals and flips.

Two runs of 150 rows x 2 trials (with failed rows) are reported through the API; every
number compare gives is checked against ``independent.py``'s plain computation: values
(booleans count a failed row as not true), deltas, per-row paired differences (trials
averaged), the 95% interval, and pass->fail / fail->pass flips. A third run on another
dataset version with another scorer version gets warnings.
"""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from wiretrace_proxy.evaluations.bootstrap import paired_difference

from tests.harness import Servers
from tests.proxy.evaluations.client import call, ok
from tests.proxy.evaluations.independent import bootstrap_interval, trial_means

pytestmark = pytest.mark.both_databases

N_ROWS, TRIALS = 150, 2


def make_rows(seed: int, p_true: float) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for index in range(N_ROWS):
        for trial in range(TRIALS):
            row: dict[str, Any] = {"row_index": index, "trial": trial, "inputs": {"i": index}}
            if rng.random() < 0.05:
                row["model_error"] = {"type": "APIError", "message": "boom"}
            else:
                row["scores"] = {
                    "exact": rng.random() < p_true,
                    "judge": {"ratio": round(rng.random(), 3)},
                }
                row["latency_ms"] = round(rng.uniform(5, 50), 2)
            rows.append(row)
    return rows


def create(base: str, run_id: str, rows: list[dict[str, Any]], **versions: str) -> None:
    ok(base, "POST", "/api/evaluations/runs", {
        "id": run_id,
        "evaluation": {"name": "qa", "version": "e1"},
        "dataset": {"name": "qa-set", "version": versions.get("dataset", "d1")},
        "model": {"name": run_id, "version": "1"},
        "scorers": [{"name": "exact", "version": versions.get("scorer", "s1")},
                    {"name": "judge", "version": "s1"}],
        "trials": TRIALS,
        "n_rows": N_ROWS * TRIALS,
    })  # fmt: skip
    for start in range(0, len(rows), 100):
        ok(
            base,
            "POST",
            f"/api/evaluations/runs/{run_id}/rows",
            {"rows": rows[start : start + 100]},
        )
    ok(base, "POST", f"/api/evaluations/runs/{run_id}/finish", {"status": "finished"})


def exact(rows: list[dict[str, Any]]) -> dict[tuple[int, int], float | None]:
    return {
        (r["row_index"], r["trial"]): 1.0 if r.get("scores", {}).get("exact") is True else 0.0
        for r in rows
    }


def ratio(rows: list[dict[str, Any]]) -> dict[tuple[int, int], float | None]:
    return {
        (r["row_index"], r["trial"]): r["scores"]["judge"]["ratio"] if "scores" in r else None
        for r in rows
    }


def test_compare_equals_an_independent_computation(servers: Servers) -> None:
    base = servers.proxy_url
    a_rows, b_rows = make_rows(1, 0.6), make_rows(2, 0.75)
    create(base, "run-a", a_rows)
    create(base, "run-b", b_rows)
    result = ok(base, "GET", "/api/evaluations/compare?runs=run-a,run-b&baseline=run-a")
    assert result["baseline"] == "run-a" and result["runs"] == ["run-a", "run-b"]
    assert result["warnings"] == []
    assert result["bootstrap"] == {"resamples": 1000, "seed": 0, "confidence": 0.95}
    metrics = {m["metric"]: m for m in result["metrics"]}
    assert list(metrics) == ["exact.true_fraction", "judge.ratio.mean", "latency_ms.mean"]

    got = metrics["exact.true_fraction"]
    a_exact, b_exact = exact(a_rows), exact(b_rows)
    value_a = math.fsum(v or 0 for v in a_exact.values()) / len(a_exact)  # failed rows count
    value_b = math.fsum(v or 0 for v in b_exact.values()) / len(b_exact)
    assert got["kind"] == "boolean"
    assert got["values"] == {"run-a": pytest.approx(value_a), "run-b": pytest.approx(value_b)}
    assert got["deltas"]["run-b"] == pytest.approx(value_b - value_a)
    assert got["deltas"]["run-a"] == 0
    rows_a, rows_b = trial_means(a_exact), trial_means(b_exact)
    diffs = [rows_b[i] - rows_a[i] for i in sorted(rows_a)]
    low, high = bootstrap_interval(diffs)
    assert got["paired"]["run-b"] == {
        "n": N_ROWS,
        "mean_diff": pytest.approx(math.fsum(diffs) / len(diffs)),
        "ci_low": pytest.approx(low),
        "ci_high": pytest.approx(high),
    }
    assert got["flips"]["run-b"] == {
        "pass_to_fail": sum(1 for i in rows_a if rows_a[i] >= 0.5 and rows_b[i] < 0.5),
        "fail_to_pass": sum(1 for i in rows_a if rows_a[i] < 0.5 and rows_b[i] >= 0.5),
    }
    assert got["flips"]["run-b"]["pass_to_fail"] > 0 and got["flips"]["run-b"]["fail_to_pass"] > 0

    got = metrics["judge.ratio.mean"]
    a_ratio, b_ratio = ratio(a_rows), ratio(b_rows)
    scored_a = [v for v in a_ratio.values() if v is not None]
    assert got["kind"] == "number" and got["flips"] is None
    assert got["values"]["run-a"] == pytest.approx(math.fsum(scored_a) / len(scored_a))
    rows_a, rows_b = trial_means(a_ratio), trial_means(b_ratio)
    common = sorted(rows_a.keys() & rows_b.keys())
    diffs = [rows_b[i] - rows_a[i] for i in common]
    low, high = bootstrap_interval(diffs)
    assert got["paired"]["run-b"] == {
        "n": len(common),
        "mean_diff": pytest.approx(math.fsum(diffs) / len(diffs)),
        "ci_low": pytest.approx(low),
        "ci_high": pytest.approx(high),
    }
    assert low < got["paired"]["run-b"]["mean_diff"] < high


def test_runs_on_other_dataset_or_scorer_versions_get_warnings(servers: Servers) -> None:
    base = servers.proxy_url
    create(base, "base-run", make_rows(3, 0.5))
    create(base, "moved-run", make_rows(4, 0.5), dataset="d2", scorer="s2")
    result = ok(base, "GET", "/api/evaluations/compare?runs=moved-run&baseline=base-run")
    assert result["baseline"] == "base-run" and result["runs"] == ["base-run", "moved-run"]
    warnings = "\n".join(result["warnings"])
    assert len(result["warnings"]) == 2
    assert "dataset" in warnings and "qa-set@d2" in warnings and "qa-set@d1" in warnings
    assert "scor" in warnings and "exact" in warnings and "s2" in warnings


@pytest.mark.parametrize(
    ("query", "status", "param"),
    [
        ("runs=", 400, "runs"),
        ("runs=a,,b", 400, "runs"),
        ("runs=a,b,c,d,e", 400, "runs"),
        ("runs=a,b&baseline=c", 404, None),
        ("runs=missing-1,missing-2", 404, None),
        ("runs=missing-1", 404, None),
    ],
)
def test_bad_compare_requests(servers: Servers, query: str, status: int, param: str | None) -> None:
    got, answer = call(servers.proxy_url, "GET", f"/api/evaluations/compare?{query}")
    assert got == status and answer["error"]["param"] == param


@pytest.mark.parametrize("n", [2, 3, 17, 1000])
@pytest.mark.parametrize("kind", ["numbers", "booleans"])
def test_the_bootstrap_equals_an_independent_computation(n: int, kind: str) -> None:
    rng = random.Random(n)
    if kind == "numbers":  # many distinct differences: indices are resampled
        diffs = [rng.choice([-1.0, 0.0, 0.0, 1.0]) * rng.random() for _ in range(n)]
    else:  # a boolean's differences, -1, 0 or 1: counts per value are resampled
        diffs = [float(rng.random() < 0.7) - float(rng.random() < 0.6) for _ in range(n)]
    got = paired_difference(diffs)
    low, high = bootstrap_interval(diffs)
    assert got.n == n and got.mean == pytest.approx(math.fsum(diffs) / n)
    assert got.ci_low == pytest.approx(low) and got.ci_high == pytest.approx(high)


def test_the_bootstrap_needs_two_pairs_for_an_interval() -> None:
    assert paired_difference([]).mean is None
    one = paired_difference([0.5])
    assert (one.n, one.mean, one.ci_low, one.ci_high) == (1, 0.5, None, None)


def test_one_run_or_a_repeated_run_gives_its_values_alone(servers: Servers) -> None:
    rows = make_rows(5, 0.5)
    create(servers.proxy_url, "lonely", rows)
    for query in ("runs=lonely", "runs=lonely,lonely"):
        result = ok(servers.proxy_url, "GET", f"/api/evaluations/compare?{query}")
        assert result["runs"] == ["lonely"] and result["warnings"] == []
        exact_metric = result["metrics"][0]
        assert exact_metric["metric"] == "exact.true_fraction"
        values = exact(rows)
        expected = math.fsum(v or 0 for v in values.values()) / len(values)
        assert exact_metric["values"] == {"lonely": pytest.approx(expected)}
        assert exact_metric["deltas"] == {"lonely": 0} and exact_metric["paired"] == {}
