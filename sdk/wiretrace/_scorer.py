"""Scorers: what judges one model output, and how its arguments come from a dataset row.

A scorer is a function (usually an ``@op``) or an instance of a ``Scorer`` subclass, whose
``score`` method does the work. Either way its parameters name dataset columns, plus
``output`` for the model's output; a class scorer's ``column_map`` maps a parameter to a
column of another name (``{"reference": "target"}``). A scorer is summarised with the
standard rules (``_summaries``) unless its class overrides ``summarize``.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ._model import Model

__all__ = ["ColumnBinding", "Scorer", "ScorerSpec", "bind_columns"]

OUTPUT = "output"
"""The parameter that receives the model's output."""
MODEL_OUTPUT = "model_output"
"""Accepted instead of ``output`` (scorers written for Weave's older name)."""


class Scorer(Model):
    """Base class for scorers with configuration; subclasses are dataclasses (as ``Model``)
    and define ``score(self, *, output, <columns>...)``, usually an ``@op``.

    >>> class Close(wiretrace.Scorer):
    ...     threshold: float = 0.8
    ...
    ...     @wiretrace.op
    ...     def score(self, *, output: str, reference: str) -> dict: ...
    >>> Close(column_map={"reference": "target"})
    """

    column_map: dict[str, str] | None = dataclasses.field(default=None, kw_only=True)
    """Scorer parameter -> dataset column, for parameters named differently from columns."""

    def ready(self) -> None:
        """Raise when this scorer cannot run (a missing optional library, say); called once
        before the evaluation's first model call, so it fails then and not on every row."""

    def summarize(self, rows: list[Any]) -> dict[str, Any] | None:
        """The summary of this scorer's results (the rows it scored); ``None`` (the default)
        uses the standard rules. ``n`` and ``n_errors`` are added when missing."""
        return None


@dataclasses.dataclass(frozen=True)
class ColumnBinding:
    """Which dataset column feeds each parameter of a callable, checked up front."""

    columns: dict[str, str]
    """Parameter -> column."""
    takes_all: bool
    """A ``**kwargs`` parameter: every column is passed too."""


def bind_columns(
    who: str,
    fn: Callable[..., Any],
    columns: Sequence[str],
    column_map: Mapping[str, str] | None = None,
    *,
    reserved: Sequence[str] = (),
    fixes: str,
) -> ColumnBinding:
    """Map ``fn``'s parameters to ``columns``; ``TypeError`` naming what is missing.

    ``reserved`` parameters (``output``) are filled by the evaluation, not by a column.
    """
    signature = inspect.signature(fn)
    mapping = dict(column_map or {})
    params = signature.parameters
    takes_all = any(p.kind is p.VAR_KEYWORD for p in params.values())
    for key in mapping:
        if key not in params and not takes_all:
            raise TypeError(
                f"{who}: column_map key {key!r} is not a parameter of {who} "
                f"(parameters: {', '.join(params)})"
            )
    bound: dict[str, str] = {}
    available = ", ".join(repr(c) for c in columns)
    for name, param in params.items():
        if param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL) or name in reserved:
            continue
        column = mapping.get(name, name)
        if column in columns:
            bound[name] = column
        elif name in mapping:
            raise TypeError(
                f"{who}: column_map maps parameter {name!r} to column {column!r}, which the "
                f"dataset does not have (available columns: {available})"
            )
        elif param.default is param.empty:
            raise TypeError(
                f"{who}: parameter {name!r} matches no dataset column (available columns: "
                f"{available}). {fixes.format(name=name)}"
            )
    for key, column in mapping.items():
        if key not in bound and takes_all:
            if column not in columns:
                raise TypeError(
                    f"{who}: column_map maps {key!r} to column {column!r}, which the dataset "
                    f"does not have (available columns: {available})"
                )
            bound[key] = column
    return ColumnBinding(bound, takes_all)


_SCORER_FIXES = (
    "Fix it by renaming the parameter to a column name, or by mapping it to a column: "
    "column_map={{{name!r}: '<column>'}} (a Scorer subclass takes column_map)."
)


class ScorerSpec:
    """One scorer of an evaluation: its name, version, callable and column binding."""

    def __init__(self, scorer: object, columns: Sequence[str]) -> None:
        from ._versioning import model_version, op_version

        self.scorer = scorer
        if isinstance(scorer, Scorer):
            self.name = type(scorer).__name__
            score = getattr(scorer, "score", None)
            if not callable(score):
                raise TypeError(f"{type(scorer).__name__} must define score(self, *, output, ...)")
            self.fn: Callable[..., Any] = score
            self.version = str(model_version(scorer, Model)["digest"])
            column_map = scorer.column_map
            scorer.ready()
        elif callable(scorer):
            self.name = str(getattr(scorer, "__name__", type(scorer).__name__))
            self.fn = scorer
            self.version = op_version(scorer)["digest"]
            column_map = None
        else:
            raise TypeError(f"scorer {scorer!r} is neither a function nor a wiretrace.Scorer")
        who = f"scorer {self.name}"
        found = _output_parameter(self.fn)
        if found is None:
            raise TypeError(f"{who} must have an 'output' parameter for the model's output")
        self.output_name = found
        """``output``, or ``model_output`` for scorers written for the older name."""
        self.binding = bind_columns(
            who, self.fn, columns, column_map, reserved=(found,), fixes=_SCORER_FIXES
        )
        self.is_async = inspect.iscoroutinefunction(self.fn)

    def arguments(self, row: Mapping[str, Any], output: Any) -> dict[str, Any]:
        """The keyword arguments for one row."""
        if self.binding.takes_all:
            values = dict(row)
            values.update({name: row[column] for name, column in self.binding.columns.items()})
        else:
            values = {name: row[column] for name, column in self.binding.columns.items()}
        values[self.output_name] = output
        return values

    def summarize(self, values: list[Any], n_errors: int) -> dict[str, Any]:
        from ._summaries import summarize_scores

        custom = self.scorer.summarize(values) if isinstance(self.scorer, Scorer) else None
        if custom is None:
            return summarize_scores(values, n_errors)
        summary = dict(custom)
        summary.setdefault("n", len(values) + n_errors)
        summary.setdefault("n_errors", n_errors)
        return summary


def _output_parameter(fn: Callable[..., Any]) -> str | None:
    """The parameter that takes the model's output: ``output``, else ``model_output``
    (Weave's older name), else ``output`` through ``**kwargs``; None when there is none."""
    params = inspect.signature(fn).parameters
    both = OUTPUT in params and MODEL_OUTPUT in params
    if both:
        raise TypeError("a scorer takes the model's output as 'output' or 'model_output', not both")
    if OUTPUT in params:
        return OUTPUT
    if MODEL_OUTPUT in params:
        return MODEL_OUTPUT
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return OUTPUT
    return None
