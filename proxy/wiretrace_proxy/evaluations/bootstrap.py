"""A bootstrap confidence interval for the mean of paired differences (numbers only).

The method, fixed so that the same runs always give the same interval: the percentile
bootstrap at 95%, ``RESAMPLES`` resamples of the ``n`` differences drawn with
replacement from ``numpy.random.default_rng(SEED)``, the interval being the 2.5th and
97.5th percentiles of the resamples' means (``numpy.percentile``, linear interpolation).
A resample is drawn one of two ways, the same distribution either way:

- differences with at most ``FEW_VALUES`` distinct values (a boolean score, or a
  boolean averaged over a few trials): the counts of each distinct value (in ascending
  order) are drawn at once, ``rng.multinomial(n, counts / n, size=RESAMPLES)``, and a
  resample's mean is ``draws @ values / n``: the cost does not grow with ``n``;
- otherwise ``n`` indices per resample, ``rng.integers(0, n, size=(RESAMPLES, n))``,
  drawn ``BLOCK`` resamples at a time to bound memory (the same indices as one draw).
  Series of the same length share those indices (they would be equal anyway: the same
  seed), so they are drawn once per compare.

With fewer than two differences there is no interval (``None``). numpy because 1,000
resamples of 10,000 rows are ten million draws: a fraction of a second vectorised,
several seconds in pure Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported by the first compare: 15 MiB a server may never need
    import numpy as np
    from numpy.typing import NDArray

__all__ = [
    "BLOCK",
    "CONFIDENCE",
    "FEW_VALUES",
    "RESAMPLES",
    "SEED",
    "PairedDifference",
    "paired_difference",
    "paired_differences",
]

SEED = 0
RESAMPLES = 1000
CONFIDENCE = 0.95
BLOCK = 100
"""Resamples drawn at a time (100 x 10,000 indices is 8 MB)."""
FEW_VALUES = 32
"""At most this many distinct differences: resamples are drawn as counts per value."""


@dataclass(frozen=True, slots=True)
class PairedDifference:
    n: int
    """How many pairs."""
    mean: float | None
    """Mean of candidate minus baseline over the pairs (None without pairs)."""
    ci_low: float | None
    ci_high: float | None


def paired_difference(
    differences: Sequence[float], *, seed: int = SEED, resamples: int = RESAMPLES
) -> PairedDifference:
    """The mean difference and its bootstrap interval (see the module docstring)."""
    return paired_differences([differences], seed=seed, resamples=resamples)[0]


def paired_differences(
    series: Sequence[Sequence[float]], *, seed: int = SEED, resamples: int = RESAMPLES
) -> list[PairedDifference]:
    """``paired_difference`` of each series, in order (see the module docstring)."""
    import numpy as np

    out: list[PairedDifference | None] = [None] * len(series)
    by_length: dict[int, list[tuple[int, NDArray[np.float64]]]] = {}
    for i, given in enumerate(series):
        values = np.asarray(given, dtype=np.float64)
        n = len(values)
        if n < 2:
            mean = float(values[0]) if n else None
            out[i] = PairedDifference(n, mean, None, None)
            continue
        distinct, counts = np.unique(values, return_counts=True)
        if len(distinct) <= FEW_VALUES:
            rng = np.random.default_rng(seed)
            draws = rng.multinomial(n, counts / n, size=resamples)
            out[i] = _interval(values, (draws @ distinct) / n)
        else:
            by_length.setdefault(n, []).append((i, values))
    for n, members in by_length.items():
        means = [np.empty(resamples, dtype=np.float64) for _ in members]
        rng = np.random.default_rng(seed)
        for start in range(0, resamples, BLOCK):
            rows = min(BLOCK, resamples - start)
            idx = rng.integers(0, n, size=(rows, n))
            for (_, values), resampled in zip(members, means, strict=True):
                resampled[start : start + rows] = np.take(values, idx).mean(axis=1)
        for (i, values), resampled in zip(members, means, strict=True):
            out[i] = _interval(values, resampled)
    return [d for d in out if d is not None]


def _interval(values: NDArray[np.float64], means: NDArray[np.float64]) -> PairedDifference:
    import numpy as np

    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return PairedDifference(len(values), float(values.mean()), float(low), float(high))
