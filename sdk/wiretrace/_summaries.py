"""How the scores of an evaluation become its summary (shared by the SDK and the server).

Why failed rows stay in every denominator: a model that crashed on half the rows must not
report ``true_fraction: 1.0`` over the half that answered. ``values`` are the results of
the rows a scorer actually scored; ``n_errors`` counts the rows it could not score (the
model failed, or the scorer raised). Then ``n = len(values) + n_errors`` and:

- booleans: ``{"true_count", "true_fraction", "n", "n_errors"}``, ``true_fraction =
  true_count / n`` (a failed row counts as not true);
- numbers: ``{"mean", "stderr", "n", "n_errors"}``, mean over the ``k`` numbers only,
  ``stderr`` = sample standard deviation / sqrt(k) (``None`` when k < 2; ``mean`` ``None``
  when k = 0);
- dicts: the same rules per key, recursively (a row whose dict lacks the key counts in
  ``n`` as a row without a value);
- anything else (strings, lists, ``None``): ``{"n", "n_errors"}`` only.

The first value that is not ``None`` decides the kind. Sums are exactly rounded
(``math.fsum``), so the summary does not depend on the order rows finished in: a resumed
run summarises to the same numbers as an uninterrupted one. Standard library only: the
server imports this module for runs reported without a summary.
"""

from __future__ import annotations

import math
import numbers

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

__all__ = ["summarize_rows", "summarize_scores"]


def summarize_scores(values: Sequence[object], n_errors: int) -> dict[str, object]:
    """The summary of one scorer (or one key of a dict scorer); see the module docstring."""
    n = len(values) + n_errors
    first = next((value for value in values if value is not None), None)
    if isinstance(first, bool):
        true_count = sum(1 for value in values if value is True)
        return {
            "true_count": true_count,
            "true_fraction": true_count / n if n else None,
            "n": n,
            "n_errors": n_errors,
        }
    if isinstance(first, numbers.Real):
        scored = [
            float(value)
            for value in values
            if isinstance(value, numbers.Real) and not isinstance(value, bool)
        ]
        return {**_mean_and_stderr(scored), "n": n, "n_errors": n_errors}
    if isinstance(first, dict):
        dicts = [value for value in values if isinstance(value, dict)]
        others = len(values) - len(dicts)
        keys: dict[str, None] = {}
        for value in dicts:
            keys.update(dict.fromkeys(str(key) for key in value))
        summary: dict[str, object] = {
            key: summarize_scores([value.get(key) for value in dicts] + [None] * others, n_errors)
            for key in keys
        }
        return summary
    return {"n": n, "n_errors": n_errors}


def _mean_and_stderr(scored: list[float]) -> dict[str, object]:
    k = len(scored)
    if k == 0:
        return {"mean": None, "stderr": None}
    mean = math.fsum(scored) / k
    if k < 2:
        return {"mean": mean, "stderr": None}
    variance = math.fsum((value - mean) ** 2 for value in scored) / (k - 1)
    return {"mean": mean, "stderr": math.sqrt(variance) / math.sqrt(k)}


def summarize_rows(
    rows: Iterable[Mapping[str, object]], scorer_names: Sequence[str]
) -> dict[str, object]:
    """The summary of a run from its row reports (the ``/rows`` wire shape).

    ``{scorer_name: summarize_scores(...)}`` for each scorer, with a row counted as an
    error for a scorer when the model failed on it or that scorer raised (or has no
    score). Rows are read in ``(row_index, trial)`` order.
    """
    ordered = sorted(rows, key=lambda row: (_int(row.get("row_index")), _int(row.get("trial"))))
    summary: dict[str, object] = {}
    for name in scorer_names:
        values: list[object] = []
        errors = 0
        for row in ordered:
            scores = row.get("scores")
            scorer_errors = row.get("scorer_errors")
            failed = bool(row.get("model_error")) or (
                isinstance(scorer_errors, dict) and name in scorer_errors
            )
            if failed or not isinstance(scores, dict) or name not in scores:
                errors += 1
            else:
                values.append(scores[name])
        summary[name] = summarize_scores(values, errors)
    return summary


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0
