"""A second, plain computation of compare's numbers, written apart from the server's.

Only the random draws are shared with ``evaluations.bootstrap`` (numpy's
``default_rng(0)``: one ``(1000, n)`` draw of indices, or for differences with at most 32
distinct values one multinomial draw of counts per value): an interval can only equal
another drawn from the same resamples. The means, the percentiles (linear interpolation
between order statistics) and everything else are computed here in plain Python.
"""

from __future__ import annotations

import math

import numpy as np


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile with linear interpolation (numpy's default method)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def bootstrap_interval(diffs: list[float]) -> tuple[float, float]:
    n = len(diffs)
    rng = np.random.default_rng(0)
    distinct = sorted(set(diffs))
    if len(distinct) <= 32:
        counts = [diffs.count(v) / n for v in distinct]
        draws = rng.multinomial(n, counts, size=1000).tolist()
        means = [math.fsum(c * v for c, v in zip(d, distinct, strict=True)) / n for d in draws]
    else:
        indices = rng.integers(0, n, size=(1000, n)).tolist()
        means = [math.fsum(diffs[i] for i in sample) / n for sample in indices]
    return percentile(means, 2.5), percentile(means, 97.5)


def trial_means(values: dict[tuple[int, int], float | None]) -> dict[int, float]:
    """``{row: mean of its trials' values}`` over the trials that have one."""
    by_row: dict[int, list[float]] = {}
    for (row, _), value in values.items():
        if value is not None:
            by_row.setdefault(row, []).append(value)
    return {row: math.fsum(v) / len(v) for row, v in by_row.items()}
