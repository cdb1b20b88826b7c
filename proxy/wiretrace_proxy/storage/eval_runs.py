"""Evaluation runs and their reported rows.

A run is created by its client (which picks the id, so it can print it before the server
answers), reported to row by row, and finished. Each (row_index, trial) is stored as last
reported: a retried row replaces its failed report. The run's counts are recounted from its
rows in the transaction of each report, so they always agree with the rows.

A ``running`` run whose client has not reported for ``STALE_AFTER`` reads as
``interrupted`` (a killed process cannot say so); the status is computed when read, so any
later report revives it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from wiretrace_proxy import jsonsafe
from wiretrace_proxy.callrecord import JSON, JSONObject
from wiretrace_proxy.storage.models import EVAL_RUN_ROWS, EVAL_RUNS, EVALUATIONS

__all__ = [
    "STALE_AFTER",
    "STATUSES",
    "RowReport",
    "RunConflict",
    "RunQuery",
    "RunSpec",
    "create_run",
    "finish_run",
    "get_run",
    "latencies",
    "list_runs",
    "read_rows",
    "report_rows",
    "scored_rows",
    "status_of",
]

STALE_AFTER = timedelta(seconds=120)
"""A running run with no report for this long reads as ``interrupted``."""
STATUSES = ("running", "finished", "failed", "interrupted")
FinalStatus = Literal["finished", "failed"]
Row = dict[str, Any]
"""A stored row as a plain dict of its columns."""


class RunConflict(ValueError):
    """A run id already used for another evaluation or dataset."""


@dataclass(frozen=True, slots=True)
class RunSpec:
    """What ``POST /api/evaluations/runs`` declares."""

    id: str
    project: str
    evaluation: tuple[str, str]
    dataset: tuple[str, str]
    model: tuple[str, str]
    scorers: list[JSONObject]
    trials: int
    n_rows: int
    config: JSONObject | None


@dataclass(frozen=True, slots=True)
class RowReport:
    """One (row, trial) as a client reports it."""

    row_index: int
    trial: int
    inputs: JSON
    output: JSON
    scores: JSONObject
    scorer_errors: dict[str, str]
    model_error: JSONObject | None
    trace_id: str | None
    span_id: str | None
    latency_ms: float | None


@dataclass(frozen=True, slots=True)
class RunQuery:
    project: str
    evaluation: str | None = None
    dataset: str | None = None
    model: str | None = None
    status: str | None = None
    offset: int = 0
    limit: int = 50


def status_of(run: Mapping[str, Any], now: datetime) -> str:
    """The status as read: ``interrupted`` for a running run gone quiet."""
    status = str(run["status"])
    last = run["last_report_at"]
    if status == "running" and isinstance(last, datetime) and now - last > STALE_AFTER:
        return "interrupted"
    return status


def get_run(conn: Connection, run_id: str) -> Row | None:
    found = conn.execute(sa.select(EVAL_RUNS).where(EVAL_RUNS.c.id == run_id)).mappings().first()
    return None if found is None else dict(found)


def create_run(conn: Connection, spec: RunSpec, now: datetime) -> tuple[Row, bool]:
    """The run, and whether it is new; an existing id with the same evaluation and dataset
    is resumed (running again, reported to now), with others a ``RunConflict``."""
    existing = get_run(conn, spec.id)
    if existing is not None:
        same = (existing["evaluation_name"], existing["evaluation_version"]) == spec.evaluation
        if not same or (existing["dataset_name"], existing["dataset_version"]) != spec.dataset:
            raise RunConflict(
                f"run {spec.id!r} exists for evaluation {existing['evaluation_name']!r} on "
                f"dataset {existing['dataset_name']!r} {existing['dataset_version']!r}"
            )
        conn.execute(
            sa.update(EVAL_RUNS)
            .where(EVAL_RUNS.c.id == spec.id)
            .values(status="running", ended_at=None, last_report_at=now)
        )
        resumed = get_run(conn, spec.id)
        assert resumed is not None
        return resumed, False
    _ensure_evaluation(conn, spec.project, spec.evaluation, now)
    conn.execute(
        sa.insert(EVAL_RUNS),
        {
            "id": spec.id,
            "project": spec.project,
            "evaluation_name": spec.evaluation[0],
            "evaluation_version": spec.evaluation[1],
            "dataset_name": spec.dataset[0],
            "dataset_version": spec.dataset[1],
            "model_name": spec.model[0],
            "model_version": spec.model[1],
            "scorers": spec.scorers,
            "trials": spec.trials,
            "n_rows": spec.n_rows,
            "config": spec.config,
            "status": "running",
            "summary": None,
            "n_done": 0,
            "n_ok": 0,
            "n_model_errors": 0,
            "n_scorer_errors": 0,
            "started_at": now,
            "ended_at": None,
            "last_report_at": now,
        },
    )
    created = get_run(conn, spec.id)
    assert created is not None
    return created, True


def _ensure_evaluation(
    conn: Connection, project: str, evaluation: tuple[str, str], now: datetime
) -> None:
    e = EVALUATIONS.c
    name, version = evaluation
    stmt = sa.select(e.name).where(e.project == project, e.name == name, e.version == version)
    if conn.execute(stmt).first() is None:
        conn.execute(
            sa.insert(EVALUATIONS),
            {"project": project, "name": name, "version": version, "created_at": now},
        )


def _upsert(dialect: str) -> sa.Insert:
    """``INSERT .. ON CONFLICT (run_id, row_index, trial) DO UPDATE``: the later report wins."""
    insert: Any = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(dialect)
    if insert is None:
        raise NotImplementedError(f"upsert is not implemented for {dialect}")
    stmt = insert(EVAL_RUN_ROWS)
    keys = ("run_id", "row_index", "trial")
    replaced = {c.name: stmt.excluded[c.name] for c in EVAL_RUN_ROWS.c if c.name not in keys}
    return cast(sa.Insert, stmt.on_conflict_do_update(index_elements=list(keys), set_=replaced))


def report_rows(conn: Connection, run_id: str, rows: Sequence[RowReport], now: datetime) -> bool:
    """Store (or replace) ``rows`` and recount the run; False for an unknown run. An empty
    ``rows`` is a heartbeat: only ``last_report_at`` moves."""
    if get_run(conn, run_id) is None:
        return False
    if rows:
        conn.execute(_upsert(conn.dialect.name), [_row_values(run_id, r, now) for r in rows])
    values: dict[str, object] = {"last_report_at": now}
    if rows:
        values.update(_counts(conn, run_id))
    conn.execute(sa.update(EVAL_RUNS).where(EVAL_RUNS.c.id == run_id).values(**values))
    return True


def _row_values(run_id: str, r: RowReport, now: datetime) -> dict[str, object]:
    return {
        "run_id": run_id,
        "row_index": r.row_index,
        "trial": r.trial,
        "inputs": r.inputs,
        "output": r.output,
        "scores": r.scores,
        "scorer_errors": r.scorer_errors or None,
        "model_error": r.model_error,
        "failed": r.model_error is not None or bool(r.scorer_errors),
        "trace_id": r.trace_id,
        "span_id": r.span_id,
        "latency_ms": r.latency_ms,
        "reported_at": now,
    }


def _counts(conn: Connection, run_id: str) -> dict[str, int]:
    c = EVAL_RUN_ROWS.c
    stmt = sa.select(
        sa.func.count(),
        sa.func.count(c.model_error),
        sa.func.count(c.scorer_errors),
        sa.func.sum(sa.case((c.failed, 0), else_=1)),
    ).where(c.run_id == run_id)
    done, model_errors, scorer_errors, ok = conn.execute(stmt).one()
    return {
        "n_done": int(done),
        "n_model_errors": int(model_errors),
        "n_scorer_errors": int(scorer_errors),
        "n_ok": int(ok or 0),
    }


def finish_run(
    conn: Connection,
    run_id: str,
    status: FinalStatus,
    summary: JSONObject,
    now: datetime,
) -> Row | None:
    """End the run with ``status`` and ``summary``; None for an unknown run."""
    result = conn.execute(
        sa.update(EVAL_RUNS)
        .where(EVAL_RUNS.c.id == run_id)
        .values(status=status, summary=summary, ended_at=now, last_report_at=now)
    )
    if result.rowcount == 0:
        return None
    return get_run(conn, run_id)


def list_runs(conn: Connection, q: RunQuery, now: datetime) -> tuple[list[Row], int]:
    """A page of a project's runs, newest first, and how many match."""
    r = EVAL_RUNS.c
    where: list[sa.ColumnElement[bool]] = [r.project == q.project]
    if q.evaluation:
        where.append(r.evaluation_name == q.evaluation)
    if q.dataset:
        where.append(r.dataset_name == q.dataset)
    if q.model:
        where.append(r.model_name == q.model)
    stale = now - STALE_AFTER
    if q.status == "interrupted":
        where += [r.status == "running", r.last_report_at < stale]
    elif q.status == "running":
        where += [r.status == "running", r.last_report_at >= stale]
    elif q.status:
        where.append(r.status == q.status)
    total = conn.execute(sa.select(sa.func.count()).select_from(EVAL_RUNS).where(*where))
    stmt = (
        sa.select(EVAL_RUNS)
        .where(*where)
        .order_by(r.started_at.desc(), r.id)
        .offset(q.offset)
        .limit(q.limit)
    )
    return [dict(r) for r in conn.execute(stmt).mappings()], int(total.scalar_one())


def read_rows(
    conn: Connection, run_id: str, offset: int, limit: int, failed: bool | None
) -> tuple[list[Row], int]:
    """A page of a run's rows in (row_index, trial) order, and how many match."""
    c = EVAL_RUN_ROWS.c
    where: list[sa.ColumnElement[bool]] = [c.run_id == run_id]
    if failed is not None:
        where.append(c.failed == failed)
    total = conn.execute(sa.select(sa.func.count()).select_from(EVAL_RUN_ROWS).where(*where))
    stmt = (
        sa.select(EVAL_RUN_ROWS)
        .where(*where)
        .order_by(c.row_index, c.trial)
        .offset(offset)
        .limit(limit)
    )
    return [dict(r) for r in conn.execute(stmt).mappings()], int(total.scalar_one())


def scored_rows(conn: Connection, run_id: str) -> list[Row]:
    """Every row of a run with what summaries and compare read: ``row_index``, ``trial``,
    ``scores``, ``scorer_errors``, ``latency_ms`` and ``model_error`` (only whether there
    was one: True or None).

    JSON is read as its stored text and parsed with msgspec (``jsonsafe.read_json``):
    compare reads two 10,000-row runs, and the per-row type processors and ``json.loads``
    were most of its time."""
    c = EVAL_RUN_ROWS.c
    stmt = (
        sa.select(
            c.row_index,
            c.trial,
            sa.cast(c.scores, sa.Text),
            sa.cast(c.scorer_errors, sa.Text),
            c.model_error.is_not(None),
            c.latency_ms,
        )
        .where(c.run_id == run_id)
        .order_by(c.row_index, c.trial)
    )
    read = jsonsafe.read_json
    return [
        {
            "row_index": row_index,
            "trial": trial,
            "scores": read(scores) if scores is not None else None,
            "scorer_errors": read(errors) if errors is not None else None,
            "model_error": True if failed else None,
            "latency_ms": latency,
        }
        for row_index, trial, scores, errors, failed, latency in conn.execute(stmt)
    ]


def latencies(conn: Connection, run_ids: Sequence[str]) -> dict[str, list[float]]:
    """``{run_id: [latency_ms of each row that has one]}``."""
    if not run_ids:
        return {}
    c = EVAL_RUN_ROWS.c
    stmt = sa.select(c.run_id, c.latency_ms).where(
        c.run_id.in_(list(run_ids)), c.latency_ms.is_not(None)
    )
    out: dict[str, list[float]] = {run_id: [] for run_id in run_ids}
    for row in conn.execute(stmt):
        out[row.run_id].append(float(row.latency_ms))
    return out
