"""``wiretrace.Evaluation``: run a model over a dataset, score every output, summarise.

    evaluation = wiretrace.Evaluation(name="capitals-eval", dataset=dataset,
                                      scorers=[exact_match, Close(column_map={...})])
    summary = asyncio.run(evaluation.evaluate(Answerer()))   # or evaluation.run(model)

What a row goes through (one ``Evaluation.predict_and_score`` span per row and trial,
under one ``Evaluation.evaluate`` span): the model's parameters are bound from the row's
columns by name (``preprocess_model_input(row)`` renames first), and its HTTP requests to
the proxy carry ``Wiretrace-Eval-Run``/``Wiretrace-Eval-Row`` next to ``traceparent``, so
the server files its calls (tokens, cost) under the row. A 429 from the model's provider
retries the row with back-off (``Retry-After`` honoured) up to ``max_rate_limit_retries``
times. A row's scorers then run at once (plain ones in the run's pool of ``parallelism``
threads, async ones ``parallelism`` at most over the run). A model error is recorded and
the row's scorers skipped; a scorer error is recorded and the output kept. Each row is
reported to the server as it finishes (``_eval_report``), so ``evaluate(model,
resume=run_id)`` re-runs only the rows and trials that are missing or failed there. The
summary (``Evaluation.summarize`` span) follows ``_summaries``: failed rows count in
every ``n``.

Everything is checked before the first model call: every model and scorer parameter must
name a dataset column (or be mapped to one), else ``TypeError`` says which and how to fix it.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import math
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import _context, _rate_limit
from ._dataset import Dataset, canonical_digest
from ._eval_progress import Progress
from ._eval_report import RunReporter
from ._model import Model
from ._op import op
from ._scorer import ScorerSpec, bind_columns
from ._serialize import serialize, truncate

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._span import Span

__all__ = [
    "DEFAULT_PARALLELISM",
    "ENV_PARALLELISM",
    "INFER_METHODS",
    "Evaluation",
    "ModelSpec",
    "server_url",
]

DEFAULT_PARALLELISM = 10
"""Rows evaluated at once when neither ``parallelism`` nor ``$WIRETRACE_PARALLELISM`` is set."""
ENV_PARALLELISM = "WIRETRACE_PARALLELISM"
"""Fallback for ``Evaluation(parallelism=None)``."""
INFER_METHODS = ("predict", "infer", "forward", "invoke")
"""The ``Model`` method an evaluation calls: the first of these the model has."""
MAX_RATE_LIMIT_RETRIES = 5
CLOSE_TIMEOUT = 15.0
"""Seconds the end of a run waits for its last rows to reach the server."""
UNREACHABLE_CLOSE_TIMEOUT = 2.0
"""The same, when the server never answered during the run."""

_MODEL_FIXES = (
    "Fix it by renaming the parameter to a column name, or by passing "
    "preprocess_model_input=lambda row: {{{name!r}: row['<column>'], ...}} to Evaluation."
)


def server_url() -> str:
    """Where runs are reported: ``init()``'s URL, else ``$WIRETRACE_URL`` or the default."""
    from ._state import DEFAULT_URL, ENV_URL, STATE

    return (STATE.url or os.environ.get(ENV_URL) or DEFAULT_URL).rstrip("/")


def _quiet() -> bool:
    """``init(quiet=...)`` when it was called, else ``$WIRETRACE_QUIET``."""
    from ._state import ENV_QUIET, STATE

    if STATE.quiet is not None:
        return STATE.quiet
    return os.environ.get(ENV_QUIET, "").strip().lower() in ("1", "true", "yes", "on")


class ModelSpec:
    """The model of a run: name, version, the callable and its column binding."""

    def __init__(self, model: object, columns: Sequence[str]) -> None:
        from ._versioning import model_version, op_version

        if isinstance(model, Model):
            method = next((name for name in INFER_METHODS if hasattr(model, name)), None)
            if method is None:
                raise TypeError(
                    f"{type(model).__name__} has none of the methods an evaluation calls: "
                    f"{', '.join(INFER_METHODS)}"
                )
            self.name = type(model).__name__
            self.fn: Callable[..., Any] = getattr(model, method)
            self.version = str(model_version(model, Model)["digest"])
        elif callable(model):
            self.name = str(getattr(model, "__name__", type(model).__name__))
            self.fn = model
            self.version = op_version(model)["digest"]
        else:
            raise TypeError(
                f"Evaluation.evaluate needs a wiretrace.Model with predict(), or a function; "
                f"got {type(model).__name__}"
            )
        self.binding = bind_columns(f"model {self.name}", self.fn, columns, fixes=_MODEL_FIXES)
        self.is_async = inspect.iscoroutinefunction(self.fn)

    def arguments(self, row: Mapping[str, Any]) -> dict[str, Any]:
        if self.binding.takes_all:
            return dict(row)
        return {name: row[column] for name, column in self.binding.columns.items()}


def _scorer_error(exc: BaseException) -> str:
    error = _error(exc)
    return f"{error['type']}: {error['message']}"


def _resolved(value: Any) -> Any:
    """A plain function's result; a coroutine it handed back is run to its end here."""
    if inspect.iscoroutine(value):
        return asyncio.run(value)
    return value


def _error(exc: BaseException) -> dict[str, str]:
    try:
        message = str(exc)
    except Exception:
        message = "<unprintable>"
    return {"type": type(exc).__name__, "message": truncate(message, 2000)}


class Evaluation:
    """A dataset, the scorers that judge a model's outputs on it, and how to run it.

    ``trials`` runs every row that many times (each scored and counted separately);
    ``parallelism`` rows run at once (default ``$WIRETRACE_PARALLELISM``, else 10);
    ``preprocess_model_input(row) -> dict`` builds the model's arguments from a row (the
    scorers still see the row itself).
    """

    def __init__(
        self,
        *,
        dataset: Dataset | Sequence[Mapping[str, Any]],
        scorers: Sequence[object] | None = None,
        name: str | None = None,
        trials: int = 1,
        parallelism: int | None = None,
        preprocess_model_input: Callable[[dict[str, Any]], Mapping[str, Any]] | None = None,
        max_rate_limit_retries: int = MAX_RATE_LIMIT_RETRIES,
    ) -> None:
        if not isinstance(dataset, Dataset):
            dataset = Dataset(name=f"{name or 'evaluation'}-dataset", rows=dataset)
        if trials < 1:
            raise ValueError("trials must be at least 1")
        self.dataset = dataset
        self.scorers = list(scorers or [])
        self.name = name or f"{dataset.name}-evaluation"
        self.trials = trials
        self.parallelism = parallelism
        self.preprocess_model_input = preprocess_model_input
        self.max_rate_limit_retries = max_rate_limit_retries
        self.run_id: str | None = None
        """The id of the latest run started by ``evaluate`` (set before the first row)."""

    def __repr__(self) -> str:
        return f"Evaluation(name={self.name!r}, dataset={self.dataset.name!r})"

    def scorer_specs(self) -> list[ScorerSpec]:
        """The scorers checked against the dataset's columns (``TypeError`` on a mismatch)."""
        specs = [ScorerSpec(scorer, self.dataset.columns) for scorer in self.scorers]
        names = [spec.name for spec in specs]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"two scorers are named {', '.join(duplicates)}; rename one")
        return specs

    def model_spec(self, model: object) -> ModelSpec:
        """The model checked against the columns it receives (``TypeError`` on a mismatch)."""
        columns = self.dataset.columns
        if self.preprocess_model_input is not None:
            columns = list(self.preprocess_model_input(dict(self.dataset.rows[0])))
        return ModelSpec(model, columns)

    def version(self, scorers: Sequence[ScorerSpec] | None = None) -> str:
        """Content digest of the dataset version, the scorers' versions, trials and the
        preprocessing code: the same evaluation gets the same version."""
        from ._versioning import op_version

        specs = self.scorer_specs() if scorers is None else scorers
        preprocess = self.preprocess_model_input
        return canonical_digest(
            {
                "name": self.name,
                "dataset": self.dataset.version,
                "scorers": [[spec.name, spec.version] for spec in specs],
                "trials": self.trials,
                "preprocess": op_version(preprocess)["digest"] if preprocess else None,
            }
        )

    def resolved_parallelism(self) -> int:
        if self.parallelism is not None:
            value = self.parallelism
        else:
            try:
                value = int(os.environ.get(ENV_PARALLELISM, "") or DEFAULT_PARALLELISM)
            except ValueError:
                value = DEFAULT_PARALLELISM
        return max(value, 1)

    async def evaluate(self, model: object, *, resume: str | None = None) -> dict[str, Any]:
        """Run ``model`` on every row and trial (only those missing or failed in run
        ``resume``, when given) and return the summary."""
        model_spec = self.model_spec(model)
        scorers = self.scorer_specs()
        run = _Run(self, model_spec, scorers, resume)
        if resume is not None:
            expected = {"dataset": self.dataset.version, "evaluation": self.version(scorers)}
            run.results = await asyncio.to_thread(_stored_ok_rows, run.url, resume, expected)
        self.run_id = run.run_id
        return await run.execute(model)

    def run(self, model: object, *, resume: str | None = None) -> dict[str, Any]:
        """``evaluate`` for code that is not async (not from inside a running event loop)."""
        try:
            asyncio.get_running_loop()
            in_loop = True
        except RuntimeError:
            in_loop = False
        if in_loop:
            raise RuntimeError(
                "Evaluation.run() cannot run inside an event loop (a notebook, async code): "
                "use `await evaluation.evaluate(model)` there"
            )
        return asyncio.run(self.evaluate(model, resume=resume))


class _Run:
    """One run of an evaluation: the work left, the results, the reporter, the progress."""

    def __init__(
        self,
        evaluation: Evaluation,
        model: ModelSpec,
        scorers: list[ScorerSpec],
        resume: str | None,
    ) -> None:
        self.evaluation = evaluation
        self.model = model
        self.scorers = scorers
        self.url = server_url()
        self.run_id = resume or uuid.uuid4().hex
        self.parallelism = evaluation.resolved_parallelism()
        self.n_rows = len(evaluation.dataset.rows) * evaluation.trials
        self.results: dict[tuple[int, int], dict[str, Any]] = {}
        self.rate_limit_retries = 0
        self.executor: ThreadPoolExecutor | None = None
        self.reporter: RunReporter | None = None
        self.stopping = False
        """Set when the run is cancelled: worker threads take no further rows."""
        self._scorer_slots = asyncio.Semaphore(self.parallelism)
        """Async scorers running at once, over all rows: at most ``parallelism``."""
        self._lock = threading.Lock()
        """Guards the results and counters that worker threads update."""

    def __repr__(self) -> str:
        return f"run {self.run_id}"

    async def execute(self, model: object) -> dict[str, Any]:
        evaluation = self.evaluation
        from ._state import STATE

        progress = Progress(
            evaluation.name, self.n_rows, quiet=_quiet(), already_done=len(self.results)
        )
        self.progress = progress
        self.reporter = RunReporter(self.url, self.run_id)
        self._report_start(STATE.project)
        verb = "resuming" if self.results else "running"
        progress.say(
            f"{verb} evaluation {evaluation.name} ({self.n_rows} rows, "
            f"{self.n_rows - len(self.results)} to run), run {self.run_id}: "
            f"{self.url}/evaluations/{self.run_id}"
        )
        self.executor = ThreadPoolExecutor(self.parallelism, thread_name_prefix="wiretrace-eval")
        status = "failed"
        try:
            summary = await _evaluate_op(evaluation, model, self)
            status = "finished"
            return summary
        finally:
            self.executor.shutdown(wait=False, cancel_futures=True)
            progress.close()
            await asyncio.to_thread(self._finish, status)

    def _report_start(self, project: str | None) -> None:
        assert self.reporter is not None
        evaluation = self.evaluation
        dataset = evaluation.dataset
        scope = {"project": project} if project else {}
        self.reporter.post(
            "/api/datasets", {"name": dataset.name, **scope, "rows": dataset.json_rows()}
        )
        self.reporter.post(
            "/api/evaluations/runs",
            {
                "id": self.run_id,
                **scope,
                "evaluation": {
                    "name": evaluation.name,
                    "version": evaluation.version(self.scorers),
                },
                "dataset": {"name": dataset.name, "version": dataset.version},
                "model": {"name": self.model.name, "version": self.model.version},
                "scorers": [{"name": s.name, "version": s.version} for s in self.scorers],
                "trials": evaluation.trials,
                "n_rows": self.n_rows,
                "config": {"parallelism": self.parallelism},
            },
        )

    def _finish(self, status: str) -> None:
        reporter = self.reporter
        assert reporter is not None
        body: dict[str, Any] = {"status": status}
        if status == "finished":
            body["summary"] = self.summary
        reporter.finish(body)
        timeout = CLOSE_TIMEOUT if reporter.ever_delivered else UNREACHABLE_CLOSE_TIMEOUT
        reporter.close(timeout)
        if reporter.rows_dropped:
            self.progress.say(
                f"{reporter.rows_dropped} rows of run {self.run_id} did not reach {self.url}; "
                f"resume with evaluate(model, resume={self.run_id!r}) to run them again"
            )
        server_run = reporter.finished_run
        if status == "finished" and server_run is not None:
            for key in ("usage", "cost_usd"):
                if server_run.get(key) is not None:
                    self.summary[key] = server_run[key]

    # -- the rows ---------------------------------------------------------------------------

    def _work(self) -> list[tuple[int, int]]:
        rows = len(self.evaluation.dataset.rows)
        trials = range(self.evaluation.trials)
        return [(i, t) for t in trials for i in range(rows) if (i, t) not in self.results]

    def _rows_in_threads(self) -> bool:
        """Whole rows can run in worker threads: the model, the preprocessing and the
        scorers are plain functions, and there is at most one scorer (several are run at
        once, which a thread running the whole row cannot do)."""
        preprocess = self.evaluation.preprocess_model_input
        return not (
            self.model.is_async
            or len(self.scorers) > 1
            or any(scorer.is_async for scorer in self.scorers)
            or (preprocess is not None and inspect.iscoroutinefunction(preprocess))
        )

    async def run_rows(self, model: object) -> None:
        """Every row and trial not done yet, ``parallelism`` at a time.

        When the model and its one scorer are plain functions, each of ``parallelism``
        threads runs whole rows (no hop between the event loop and a thread per call);
        otherwise ``parallelism`` tasks do, sending plain functions to the thread pool of
        ``parallelism`` threads, which a row's scorers share with every model call.
        """
        work = self._work()
        workers = min(self.parallelism, len(work))
        rows = self.evaluation.dataset.rows
        pending = iter(work)
        if self._rows_in_threads():
            take = threading.Lock()

            def thread_worker() -> None:
                while not self.stopping:
                    with take:
                        item = next(pending, None)
                    if item is None:
                        return
                    _predict_and_score_sync_op(model, rows[item[0]], item[0], item[1], self)

            loop = asyncio.get_running_loop()
            runs = [
                loop.run_in_executor(self.executor, contextvars.copy_context().run, thread_worker)
                for _ in range(workers)
            ]
            try:
                await asyncio.gather(*runs)
            finally:
                self.stopping = True
            return

        async def task_worker() -> None:
            for index, trial in pending:
                await _predict_and_score_op(model, rows[index], index, trial, self)

        await asyncio.gather(*(task_worker() for _ in range(workers)))

    def _eval_row(self, index: int, trial: int) -> tuple[str, str]:
        return (self.run_id, f"{index}:{trial}")

    def _retry_wait(self, exc: Exception, attempt: int) -> float | None:
        """Seconds to wait before retrying a rate-limited row, or None: do not retry."""
        if attempt >= self.evaluation.max_rate_limit_retries or not _rate_limit.is_rate_limit(exc):
            return None
        with self._lock:
            self.rate_limit_retries += 1
        return _rate_limit.backoff_seconds(exc, attempt + 1)

    def _model_input(self, example: dict[str, Any]) -> dict[str, Any]:
        preprocess = self.evaluation.preprocess_model_input
        model_input = dict(preprocess(dict(example))) if preprocess else example
        return self.model.arguments(model_input)

    async def predict_and_score(
        self, example: dict[str, Any], index: int, trial: int
    ) -> dict[str, Any]:
        span = _context.current_span()
        attempt = 0
        while True:
            started = time.perf_counter()
            token = _context.EVAL_ROW.set(self._eval_row(index, trial))
            try:
                output = await self._call(
                    self.model.fn, self.model.is_async, self._model_input(example)
                )
                model_error = None
                break
            except Exception as exc:
                wait = self._retry_wait(exc, attempt)
                if wait is None:
                    output, model_error = None, _error(exc)
                    break
                attempt += 1
            finally:
                _context.EVAL_ROW.reset(token)
            await asyncio.sleep(wait)
        latency = time.perf_counter() - started
        scores: dict[str, Any] = {}
        scorer_errors: dict[str, str] = {}
        if model_error is None:
            scores, scorer_errors = await self._score_all(example, output)
        return self._row_done(
            span, example, index, trial, output, model_error, latency, scores, scorer_errors
        )

    def predict_and_score_sync(
        self, example: dict[str, Any], index: int, trial: int
    ) -> dict[str, Any]:
        """``predict_and_score`` for a plain model and plain scorers, in a worker thread."""
        span = _context.current_span()
        attempt = 0
        while True:
            started = time.perf_counter()
            token = _context.EVAL_ROW.set(self._eval_row(index, trial))
            try:
                output = _resolved(self.model.fn(**self._model_input(example)))
                model_error = None
                break
            except Exception as exc:
                wait = self._retry_wait(exc, attempt)
                if wait is None:
                    output, model_error = None, _error(exc)
                    break
                attempt += 1
            finally:
                _context.EVAL_ROW.reset(token)
            time.sleep(wait)
        latency = time.perf_counter() - started
        scores: dict[str, Any] = {}
        scorer_errors: dict[str, str] = {}
        if model_error is None:
            for scorer in self.scorers:
                try:
                    value = _resolved(scorer.fn(**scorer.arguments(example, output)))
                    scores[scorer.name] = serialize(value)
                except Exception as exc:
                    scorer_errors[scorer.name] = _scorer_error(exc)
        return self._row_done(
            span, example, index, trial, output, model_error, latency, scores, scorer_errors
        )

    def _row_done(
        self,
        span: Span | None,
        example: dict[str, Any],
        index: int,
        trial: int,
        output: Any,
        model_error: dict[str, str] | None,
        latency: float,
        scores: dict[str, Any],
        scorer_errors: dict[str, str],
    ) -> dict[str, Any]:
        """Record a finished row, hand it to the reporter, count it."""
        row = {
            "row_index": index,
            "trial": trial,
            "inputs": serialize(example),
            "output": serialize(output),
            "scores": scores,
            "scorer_errors": scorer_errors,
            "model_error": model_error,
            "latency_ms": latency * 1000.0,
        }
        if span is not None:
            row["trace_id"], row["span_id"] = span.trace_id, span.id
        assert self.reporter is not None
        self.reporter.row(row)
        with self._lock:
            self.results[(index, trial)] = row
            where = f"row {index} trial {trial}"
            if model_error is not None:
                text = f"{where}: {model_error['type']}: {model_error['message']}"
                self.progress.first_error("model", text)
            for name, message in scorer_errors.items():
                self.progress.first_error(name, f"{where}: {message}")
            self.progress.row_done(bool(model_error or scorer_errors))
        return {"output": output, "scores": scores, "model_latency": latency}

    async def _score_all(
        self, example: dict[str, Any], output: Any
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Every scorer on one output, all at once: the scores, and each failed scorer's
        error (one scorer failing leaves the others' scores)."""
        jobs = [self._score(scorer, example, output) for scorer in self.scorers]
        results = [await jobs[0]] if len(jobs) == 1 else await asyncio.gather(*jobs)
        scores: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for scorer, (ok, value) in zip(self.scorers, results, strict=True):
            if ok:
                scores[scorer.name] = value
            else:
                errors[scorer.name] = value
        return scores, errors

    async def _score(
        self, scorer: ScorerSpec, example: dict[str, Any], output: Any
    ) -> tuple[bool, Any]:
        """``(True, score)`` or ``(False, error text)``. Plain scorers take a thread of the
        pool; async ones one of ``parallelism`` slots, so neither exceeds the budget."""
        try:
            arguments = scorer.arguments(example, output)
            if scorer.is_async:
                async with self._scorer_slots:
                    value = await scorer.fn(**arguments)
            else:
                value = await self._call(scorer.fn, False, arguments)
            return True, serialize(value)
        except Exception as exc:
            return False, _scorer_error(exc)

    async def _call(self, fn: Callable[..., Any], is_async: bool, arguments: dict[str, Any]) -> Any:
        if is_async:
            return await fn(**arguments)
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(
            self.executor, functools.partial(context.run, fn, **arguments)
        )
        if inspect.isawaitable(result):  # a plain function handing back a coroutine
            return await result
        return result

    # -- the summary ------------------------------------------------------------------------

    def summarize(self) -> dict[str, Any]:
        ordered = [self.results[key] for key in sorted(self.results)]
        summary: dict[str, Any] = {}
        for scorer in self.scorers:
            values: list[Any] = []
            errors = 0
            for row in ordered:
                scores = row.get("scores") or {}
                failed = row.get("model_error") or scorer.name in (row.get("scorer_errors") or {})
                if failed or scorer.name not in scores:
                    errors += 1
                else:
                    values.append(scores[scorer.name])
            errors += self.n_rows - len(ordered)  # rows never run (cancelled) count as failed
            summary[scorer.name] = scorer.summarize(values, errors)
        latencies = [
            float(row["latency_ms"]) / 1000.0
            for row in ordered
            if isinstance(row.get("latency_ms"), int | float) and not row.get("model_error")
        ]
        summary["model_latency"] = (
            {"mean": math.fsum(latencies) / len(latencies)} if latencies else {"mean": None}
        )
        model_errors = sum(1 for row in ordered if row.get("model_error"))
        scorer_errors = sum(
            1 for row in ordered if not row.get("model_error") and row.get("scorer_errors")
        )
        summary["n_rows"] = self.n_rows
        summary["n_ok"] = len(ordered) - model_errors - scorer_errors
        summary["n_model_errors"] = model_errors
        summary["n_scorer_errors"] = scorer_errors
        summary["n_rate_limit_retries"] = self.rate_limit_retries
        self.summary = summary
        return summary


def _stored_ok_rows(
    url: str, run_id: str, expected: Mapping[str, str]
) -> dict[tuple[int, int], dict[str, Any]]:
    """The rows of run ``run_id`` the server holds that need no re-run (no model or scorer
    error). Raises ``WiretraceAPIError`` when the server cannot say (a resume needs it),
    and ``ValueError`` when the run was made with another dataset or evaluation version
    (``expected``: their versions now): its rows would not mean the same."""
    from ._client import Client

    client = Client(url)
    run = client.get(f"/api/evaluations/runs/{run_id}")
    if isinstance(run, dict):
        for what, version in expected.items():
            stored = (run.get(what) or {}).get("version")
            if stored is not None and stored != version:
                raise ValueError(
                    f"run {run_id} was made with {what} version {stored}, this evaluation has "
                    f"{version} (a changed dataset, scorer or setting): start a new run"
                )
    found: dict[tuple[int, int], dict[str, Any]] = {}
    offset, page = 0, 1000
    while True:
        params = [("offset", str(offset)), ("limit", str(page))]
        body = client.get(f"/api/evaluations/runs/{run_id}/rows", params)
        rows = body.get("rows", []) if isinstance(body, dict) else []
        for row in rows:
            if row.get("model_error") or row.get("scorer_errors"):
                continue
            found[(int(row["row_index"]), int(row.get("trial") or 0))] = row
        offset += len(rows)
        total = body.get("total") if isinstance(body, dict) else None
        if not rows or (isinstance(total, int) and offset >= total):
            return found


@op(name="Evaluation.evaluate")
async def _evaluate_op(self: Evaluation, model: object, run: _Run) -> dict[str, Any]:
    await run.run_rows(model)
    return _summarize_op(run)


@op(name="Evaluation.predict_and_score")
async def _predict_and_score_op(
    model: object, example: dict[str, Any], row_index: int, trial: int, run: _Run
) -> dict[str, Any]:
    return await run.predict_and_score(example, row_index, trial)


@op(name="Evaluation.predict_and_score")
def _predict_and_score_sync_op(
    model: object, example: dict[str, Any], row_index: int, trial: int, run: _Run
) -> dict[str, Any]:
    return run.predict_and_score_sync(example, row_index, trial)


@op(name="Evaluation.summarize")
def _summarize_op(run: _Run) -> dict[str, Any]:
    return run.summarize()
