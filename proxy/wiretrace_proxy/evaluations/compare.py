"""Compare evaluation runs against a baseline, metric by metric (pure: rows in, JSON out).

A metric is a scorer name and a key path into its summary ending in the summary's
statistic: ``exact_match.true_fraction`` for a boolean scorer, ``Close.ratio.mean`` for
the ``ratio`` key of a dict scorer, plus ``latency_ms.mean`` (the rows' model latency).
For each metric and run:

- ``value``: the run's summary at that path; ``delta``: value minus the baseline's;
- ``paired``: rows matched by ``row_index`` (a row's trials averaged first), the mean of
  candidate minus baseline per row and its bootstrap 95% interval
  (``evaluations.bootstrap``). A boolean is 1 for true and 0 otherwise, a failed or
  unscored row included (as ``true_fraction`` counts it); a number counts only where the
  row has one, so a pair needs a number on both sides;
- ``flips`` (booleans): rows that passed in the baseline and fail in the run
  (``pass_to_fail``) and the reverse; a row passes when at least half its trials are true.

``warnings`` say when runs used another dataset (name or version) or another version of a
scorer than the baseline: the numbers are then not measured on the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from wiretrace_proxy.callrecord import JSON, JSONObject
from wiretrace_proxy.evaluations.bootstrap import CONFIDENCE, RESAMPLES, SEED, paired_differences

__all__ = ["LATENCY_METRIC", "Metric", "RunData", "compare_runs", "find_metrics"]

Kind = Literal["boolean", "number"]
LATENCY_METRIC = "latency_ms.mean"


@dataclass(frozen=True, slots=True)
class RunData:
    """What compare reads of one run."""

    id: str
    dataset: tuple[str, str]
    scorers: Mapping[str, str]
    """Scorer name -> version."""
    summary: Mapping[str, object]
    rows: Sequence[Mapping[str, object]]
    """``row_index``, ``trial``, ``scores``, ``latency_ms`` of each reported row."""


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    path: tuple[str, ...]
    """The scorer name and keys inside its score (the statistic left out)."""
    stat: str
    kind: Kind


def find_metrics(summaries: Sequence[Mapping[str, object]]) -> list[Metric]:
    """Every metric in any of the summaries, in order of first appearance."""
    found: dict[str, Metric] = {}
    for summary in summaries:
        for scorer, value in summary.items():
            _walk(value, (scorer,), found)
    return list(found.values())


def _walk(value: object, path: tuple[str, ...], found: dict[str, Metric]) -> None:
    if not isinstance(value, Mapping):
        return
    if "true_fraction" in value:
        metric = Metric(".".join((*path, "true_fraction")), path, "true_fraction", "boolean")
    elif "mean" in value and "n" in value:
        metric = Metric(".".join((*path, "mean")), path, "mean", "number")
    else:
        for key, inner in value.items():
            _walk(inner, (*path, str(key)), found)
        return
    found.setdefault(metric.name, metric)


def _summary_value(summary: Mapping[str, object], metric: Metric) -> float | None:
    node: object = summary
    for key in (*metric.path, metric.stat):
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return _number(node)


def _number(value: object) -> float | None:
    """A JSON number as a float (not a boolean: ``type(True) is bool``)."""
    if type(value) is float or type(value) is int:
        return float(value)
    return None


def _per_row(rows: Sequence[Mapping[str, object]], metric: Metric) -> dict[int, float]:
    """``{row_index: mean over its trials}`` for rows with at least one value.

    One loop with exact type checks (JSON gives ``dict``, ``int``, ``float``, ``bool``):
    two runs of 10,000 rows are 60,000 reads for three metrics."""
    boolean = metric.kind == "boolean"
    latency = metric.name == LATENCY_METRIC
    path = metric.path
    sums: dict[int, float] = {}
    counts: dict[int, int] = {}
    for row in rows:
        if latency:
            value: object = row.get("latency_ms")
        else:
            value = row.get("scores")
            for key in path:
                value = value.get(key) if type(value) is dict else None
        if boolean:
            number = 1.0 if value is True else 0.0
        elif type(value) is float or type(value) is int:
            number = float(value)
        else:
            continue
        index = row.get("row_index")
        if type(index) is not int:
            continue
        if index in sums:
            sums[index] += number
            counts[index] += 1
        else:
            sums[index] = number
            counts[index] = 1
    return {index: total / counts[index] for index, total in sums.items()}


def _latency_mean(rows: Sequence[Mapping[str, object]]) -> float | None:
    values = [v for row in rows if (v := _number(row.get("latency_ms"))) is not None]
    return sum(values) / len(values) if values else None


def _compare_metric(
    metric: Metric, runs: Sequence[RunData], baseline: RunData
) -> tuple[JSONObject, list[tuple[str, list[float]]]]:
    """The metric's values, deltas and flips, and each run's paired differences (their
    intervals are drawn for every metric at once: ``bootstrap.paired_differences``)."""

    def value_of(run: RunData) -> float | None:
        if metric.name == LATENCY_METRIC:
            return _latency_mean(run.rows)
        return _summary_value(run.summary, metric)

    base_value = value_of(baseline)
    base_rows = _per_row(baseline.rows, metric)
    values: JSONObject = {}
    deltas: JSONObject = {}
    flips: JSONObject = {}
    differences: list[tuple[str, list[float]]] = []
    for run in runs:
        value = value_of(run)
        values[run.id] = value
        deltas[run.id] = None if value is None or base_value is None else value - base_value
        if run is baseline:
            continue
        rows = _per_row(run.rows, metric)
        common = sorted(base_rows.keys() & rows.keys())
        differences.append((run.id, [rows[i] - base_rows[i] for i in common]))
        if metric.kind == "boolean":
            flips[run.id] = {
                "pass_to_fail": sum(1 for i in common if base_rows[i] >= 0.5 > rows[i]),
                "fail_to_pass": sum(1 for i in common if rows[i] >= 0.5 > base_rows[i]),
            }
    compared: JSONObject = {
        "metric": metric.name,
        "kind": metric.kind,
        "values": values,
        "deltas": deltas,
        "paired": {},
        "flips": flips if metric.kind == "boolean" else None,
    }
    return compared, differences


def _warnings(runs: Sequence[RunData], baseline: RunData) -> list[JSON]:
    out: list[JSON] = []
    for run in runs:
        if run is baseline:
            continue
        if run.dataset != baseline.dataset:
            out.append(
                f"dataset inconsistency: run {run.id} used {run.dataset[0]}@{run.dataset[1]},"
                f" the baseline {baseline.dataset[0]}@{baseline.dataset[1]}"
            )
        for name, version in run.scorers.items():
            base_version = baseline.scorers.get(name)
            if base_version is not None and base_version != version:
                out.append(
                    f"scoring inconsistency: run {run.id} scored {name} with version"
                    f" {version}, the baseline with {base_version}"
                )
    return out


def compare_runs(runs: Sequence[RunData], baseline_id: str) -> JSONObject:
    """The comparison of ``runs`` (the baseline among them) as ``/api/evaluations/compare``
    answers it."""
    baseline = next(run for run in runs if run.id == baseline_id)
    metrics = find_metrics([baseline.summary, *(r.summary for r in runs if r is not baseline)])
    if any(_number(row.get("latency_ms")) is not None for run in runs for row in run.rows):
        metrics.append(Metric(LATENCY_METRIC, ("latency_ms",), "mean", "number"))
    compared = [_compare_metric(metric, runs, baseline) for metric in metrics]
    series = [diffs for _, per_run in compared for _, diffs in per_run]
    intervals = iter(paired_differences(series))
    for entry, per_run in compared:
        paired = entry["paired"]
        assert isinstance(paired, dict)
        for run_id, _ in per_run:
            diff = next(intervals)
            paired[run_id] = {
                "n": diff.n,
                "mean_diff": diff.mean,
                "ci_low": diff.ci_low,
                "ci_high": diff.ci_high,
            }
    return {
        "baseline": baseline.id,
        "runs": [run.id for run in runs],
        "metrics": [entry for entry, _ in compared],
        "warnings": _warnings(runs, baseline),
        "bootstrap": {"resamples": RESAMPLES, "seed": SEED, "confidence": CONFIDENCE},
    }
