"""``wiretrace.EvaluationLogger``: report an evaluation from your own loop.

    ev = wiretrace.EvaluationLogger(name="capitals-eval", model="gpt-4o-mini", dataset="capitals")
    for row in rows:
        output = my_app(row["question"])          # proxied calls here are filed under the row
        pred = ev.log_prediction(inputs=row, output=output)
        pred.log_score("exact_match", output == row["target"])
        pred.finish()
    ev.log_summary()                               # standard summary, the run ends

For code that does not fit ``Evaluation.evaluate`` (an existing harness, another
framework): each prediction becomes a row of a run on the server, sent in the background
as it finishes, with the same summary rules. While a prediction is open, OpenAI calls made
in the same context carry the run's headers, so their tokens and cost count for its row.

The trace has ``evaluate``'s shape (after ``init()``): an ``Evaluation.evaluate`` span
from the logger's creation to ``log_summary()``, and under it one
``Evaluation.predict_and_score`` span per prediction, current while it is open, so ops
and proxied calls made for the prediction nest under it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from . import _context
from ._dataset import Dataset, canonical_digest
from ._eval_report import RunReporter
from ._evaluation import CLOSE_TIMEOUT, UNREACHABLE_CLOSE_TIMEOUT, _quiet, server_url
from ._model import Model
from ._record import end_error, end_ok
from ._serialize import serialize
from ._span import Span, new_trace_id
from ._summaries import summarize_rows

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._serialize import JSON

__all__ = ["EvaluationLogger", "ScoreLogger"]

log = logging.getLogger(__name__)


def _open_span(name: str, parent: Span | None, inputs: dict[str, JSON]) -> Span | None:
    """A span started under ``parent`` (else the current span, else a new trace) and
    sent; None without ``init()`` or if that failed."""
    from ._state import STATE

    exporter = STATE.exporter
    if exporter is None:
        return None
    try:
        parent = parent or _context.current_span()
        remote = _context.remote_parent()
        if parent is not None:
            trace_id, parent_id = parent.trace_id, parent.id
        elif remote is not None:
            trace_id, parent_id = remote.trace_id, remote.span_id
        else:
            trace_id, parent_id = new_trace_id(), None
        span = Span(name, trace_id, parent_id, STATE.project, inputs)
        exporter.submit(span, False)
        return span
    except Exception:  # fail-open boundary: the evaluation goes on untraced
        log.debug("wiretrace: could not start a span for %s", name, exc_info=True)
        return None


def _named(value: object, default: str) -> dict[str, str]:
    """``{"name", "version"}`` for a model or dataset given as an object, a name or a dict."""
    from ._versioning import model_version

    if isinstance(value, Model):
        return {"name": type(value).__name__, "version": str(model_version(value, Model)["digest"])}
    if isinstance(value, Dataset):
        return {"name": value.name, "version": value.version}
    if isinstance(value, str):
        return {"name": value, "version": canonical_digest(value)}
    if isinstance(value, Mapping):
        name = str(value.get("name", default))
        return {"name": name, "version": canonical_digest(serialize(dict(value)))}
    if isinstance(value, Sequence):
        return {"name": default, "version": canonical_digest(serialize(list(value)))}
    return {"name": default, "version": canonical_digest(None)}


class ScoreLogger:
    """One prediction: add scores with ``log_score``, then ``finish()`` reports the row."""

    def __init__(self, logger: EvaluationLogger, index: int, inputs: dict[str, Any], output: Any):
        self._logger = logger
        self.row_index = index
        self.inputs = inputs
        self.output = output
        self.scores: dict[str, Any] = {}
        self.scorer_errors: dict[str, str] = {}
        self.model_error: dict[str, str] | None = None
        self.span = _open_span(
            "Evaluation.predict_and_score",
            logger.span,
            {"row_index": index, "trial": 0, "example": inputs},
        )
        """This prediction's span (None without ``init()``)."""
        self._span_token = _context.CURRENT.set(self.span) if self.span is not None else None
        self._token = _context.EVAL_ROW.set((logger.run_id, f"{index}:0"))
        self._finished = False

    def log_score(self, name: str, value: Any) -> None:
        """Record score ``name`` (a bool, a number or a dict of them) for this prediction."""
        self.scores[name] = serialize(value)

    def log_error(self, name: str, message: str) -> None:
        """Record that scorer ``name`` failed on this prediction (it counts in ``n_errors``)."""
        self.scorer_errors[name] = message

    def finish(self) -> None:
        """Report the row (once)."""
        if self._finished:
            return
        self._finished = True
        try:
            _context.EVAL_ROW.reset(self._token)
            if self._span_token is not None:
                _context.CURRENT.reset(self._span_token)
        except ValueError:  # finished in another context than it started in
            pass
        if self.span is not None:
            end_ok(self.span, {"output": self.output, "scores": self.scores})
        self._logger._report(self)

    def __enter__(self) -> ScoreLogger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.finish()


class EvaluationLogger:
    """An evaluation run reported row by row; ``log_summary()`` ends it."""

    def __init__(
        self,
        name: str | None = None,
        model: Model | Mapping[str, Any] | str | None = None,
        dataset: Dataset | Sequence[Mapping[str, Any]] | str | None = None,
        *,
        project: str | None = None,
    ) -> None:
        from ._state import STATE

        self.name = name or "evaluation"
        self.run_id = uuid.uuid4().hex
        self.url = server_url()
        self._rows: list[dict[str, Any]] = []
        self._scorer_names: dict[str, None] = {}
        self._next_index = 0
        self._ended = False
        self._reporter = RunReporter(self.url, self.run_id)
        self.span = _open_span(
            "Evaluation.evaluate", None, {"name": self.name, "run_id": self.run_id}
        )
        """The run's root span (None without ``init()``), ended by ``log_summary``/``fail``."""
        model_ref = _named(model, "model")
        dataset_ref = _named(dataset, f"{self.name}-dataset")
        scope = project or STATE.project
        self._reporter.post(
            "/api/evaluations/runs",
            {
                "id": self.run_id,
                **({"project": scope} if scope else {}),
                "evaluation": {"name": self.name, "version": canonical_digest(self.name)},
                "dataset": dataset_ref,
                "model": model_ref,
                "scorers": [],
                "trials": 1,
                "n_rows": len(dataset.rows) if isinstance(dataset, Dataset) else 0,
            },
        )
        if not _quiet():
            import sys

            print(
                f"wiretrace: logging evaluation {self.name}, run {self.run_id}: "
                f"{self.url}/evaluations/{self.run_id}",
                file=sys.stderr,
                flush=True,
            )

    def log_prediction(self, inputs: Mapping[str, Any], output: Any = None) -> ScoreLogger:
        """Start a prediction (a row); its proxied calls are filed under it until
        ``finish()``."""
        index = self._next_index
        self._next_index += 1
        return ScoreLogger(self, index, dict(serialize(dict(inputs))), output)  # type: ignore[arg-type]

    def log_example(
        self, inputs: Mapping[str, Any], output: Any, scores: Mapping[str, Any]
    ) -> None:
        """A prediction and its scores in one call."""
        prediction = self.log_prediction(inputs, output)
        for name, value in scores.items():
            prediction.log_score(name, value)
        prediction.finish()

    def _report(self, prediction: ScoreLogger) -> None:
        row = {
            "row_index": prediction.row_index,
            "trial": 0,
            "inputs": prediction.inputs,
            "output": serialize(prediction.output),
            "scores": prediction.scores,
            "scorer_errors": prediction.scorer_errors,
            "model_error": prediction.model_error,
        }
        if prediction.span is not None:
            row["trace_id"], row["span_id"] = prediction.span.trace_id, prediction.span.id
        self._scorer_names.update(dict.fromkeys(prediction.scores))
        self._scorer_names.update(dict.fromkeys(prediction.scorer_errors))
        self._rows.append(row)
        self._reporter.row(row)

    def log_summary(self, summary: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """End the run: the standard summary of the logged scores, plus ``summary``'s keys."""
        result: dict[str, Any] = dict(summarize_rows(self._rows, list(self._scorer_names)))
        result.update(summary or {})
        self._end("finished", result)
        return result

    def fail(self, error: BaseException | str) -> None:
        """End the run as failed."""
        if self.span is not None and not self._ended:
            failure = error if isinstance(error, BaseException) else RuntimeError(error)
            end_error(self.span, failure)
            self.span = None  # ended: ``_end`` leaves it
        self._end("failed", None)

    def _end(self, status: str, summary: dict[str, Any] | None) -> None:
        if self._ended:
            return
        self._ended = True
        if self.span is not None:
            end_ok(self.span, summary if summary is not None else {"status": status})
        body: dict[str, Any] = {"status": status}
        if summary is not None:
            body["summary"] = summary
        self._reporter.finish(body)
        reporter = self._reporter
        reporter.close(CLOSE_TIMEOUT if reporter.ever_delivered else UNREACHABLE_CLOSE_TIMEOUT)
