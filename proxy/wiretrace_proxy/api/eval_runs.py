"""``/api/evaluations/runs``: create (or resume) a run, report its rows, finish it, read.

Writes go straight to the database (like ``/api/spans``): a 2xx means stored. The client
picks the run id (the SDK sends a uuid4 hex so it can print it first); a run id posted
again for the same evaluation and dataset resumes that run (200), for another one it is
a 409. A run finished without a ``summary`` (a client using curl) gets the one the server
computes from its rows with the SDK's own rules (``wiretrace._summaries``).

A run's ``usage``, ``cost_usd`` and each row's ``call_ids`` are read from the calls the
proxy recorded with the run's ``Wiretrace-Eval-Run`` header (``storage/eval_calls.py``);
``latency_ms`` from the rows' reported latencies. The finish answer first waits (a bounded
``FINISH_FLUSH_S``) for the writer to store the calls this server proxied before it, so its
totals are the run's whole; a call proxied through another replica is counted once that
replica's writer stores it (any later read of the run has it).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiohttp import web
from sqlalchemy.engine import Connection
from wiretrace._summaries import summarize_rows

from wiretrace_proxy.api import eval_schemas as shapes
from wiretrace_proxy.api import schemas
from wiretrace_proxy.api.errors import BadParameter, bad_request, not_found
from wiretrace_proxy.api.eval_bodies import (
    WriteFailed,
    iso,
    offset_limit,
    project_of,
    read_model,
    write,
)
from wiretrace_proxy.api.jsonio import BodyTooLarge, json_response
from wiretrace_proxy.api.openapi import operation, path_param, query
from wiretrace_proxy.api.reads import read
from wiretrace_proxy.api.schemas import ref
from wiretrace_proxy.appkeys import ENGINE, WRITER
from wiretrace_proxy.callrecord import JSON, JSONObject
from wiretrace_proxy.storage import eval_calls, eval_runs
from wiretrace_proxy.storage.eval_runs import (
    STATUSES,
    Row,
    RowReport,
    RunConflict,
    RunQuery,
    RunSpec,
)

__all__ = ["OPENAPI_PATHS", "add_routes", "run_summary", "scorer_names"]

MAX_BODY = 64 * 1024 * 1024
FINISH_FLUSH_S = 2.0
"""How long a finish waits for this server's writer to store the calls proxied before it,
so that the answer's usage and cost (which the SDK puts in its summary) count them."""
T = TypeVar("T")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/api/evaluations/runs", create_run)
    router.add_get("/api/evaluations/runs", list_runs)
    router.add_get("/api/evaluations/runs/{run_id}", get_run)
    router.add_post("/api/evaluations/runs/{run_id}/rows", report_rows)
    router.add_get("/api/evaluations/runs/{run_id}/rows", get_rows)
    router.add_post("/api/evaluations/runs/{run_id}/finish", finish_run)


def _unknown(run_id: str) -> web.Response:
    return not_found(f"no evaluation run with id {run_id!r}")


def scorer_names(run: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The run's declared scorers, then any other scorer its rows name, in order."""
    names: dict[str, None] = {}
    scorers = run["scorers"]
    for scorer in scorers if isinstance(scorers, list) else []:
        if isinstance(scorer, dict) and isinstance(scorer.get("name"), str):
            names[scorer["name"]] = None
    for row in rows:
        for key in ("scores", "scorer_errors"):
            value = row.get(key)
            if isinstance(value, dict):
                names.update(dict.fromkeys(str(k) for k in value))
    return list(names)


def run_summary(run: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> JSONObject:
    """The stored summary, or the one the rows give (a run not finished, or finished by a
    client that sent none)."""
    stored = run["summary"]
    if isinstance(stored, dict):
        return stored
    summary: JSONObject = summarize_rows(rows, scorer_names(run, rows))  # type: ignore[assignment]
    return summary


def _latency(values: Sequence[float]) -> JSONObject:
    if not values:
        return {"mean": None, "p50": None, "p95": None}
    import numpy as np  # here, not at the top: see bootstrap.py

    array = np.asarray(values, dtype=np.float64)
    p50, p95 = np.percentile(array, [50, 95])
    return {"mean": float(array.mean()), "p50": float(p50), "p95": float(p95)}


def _pair(name: object, version: object) -> JSONObject:
    return {"name": str(name), "version": str(version)}


def run_to_api(
    run: Mapping[str, Any],
    summary: JSONObject,
    totals: eval_calls.CallTotals,
    latencies: Sequence[float],
    now: datetime,
) -> JSONObject:
    started, ended, last = run["started_at"], run["ended_at"], run["last_report_at"]
    assert isinstance(started, datetime) and isinstance(last, datetime)
    scorers = run["scorers"]
    return {
        "id": str(run["id"]),
        "project": str(run["project"]),
        "evaluation": _pair(run["evaluation_name"], run["evaluation_version"]),
        "dataset": _pair(run["dataset_name"], run["dataset_version"]),
        "model": _pair(run["model_name"], run["model_version"]),
        "scorers": scorers if isinstance(scorers, list) else [],
        "trials": int(str(run["trials"])),
        "config": run["config"] if isinstance(run["config"], dict) else None,
        "status": eval_runs.status_of(run, now),
        "n_rows": int(str(run["n_rows"])),
        "n_done": int(str(run["n_done"])),
        "n_ok": int(str(run["n_ok"])),
        "n_model_errors": int(str(run["n_model_errors"])),
        "n_scorer_errors": int(str(run["n_scorer_errors"])),
        "summary": summary,
        "usage": totals.usage(),
        "cost_usd": totals.cost_usd,
        "latency_ms": _latency(latencies),
        "started_at": started.isoformat(),
        "ended_at": iso(ended if isinstance(ended, datetime) else None),
        "last_report_at": last.isoformat(),
    }


def _full_run(conn: Connection, run: Row, now: datetime) -> JSONObject:
    """A run as ``GET /api/evaluations/runs/{id}`` shows it (the summary so far while it
    runs)."""
    rows = [] if isinstance(run["summary"], dict) else eval_runs.scored_rows(conn, run["id"])
    totals = eval_calls.run_totals(conn, run, now)
    latencies = eval_runs.latencies(conn, [run["id"]])[run["id"]]
    return run_to_api(run, run_summary(run, rows), totals, latencies, now)


async def create_run(request: web.Request) -> web.Response:
    try:
        given = await read_model(request, shapes.RunIn, 1024 * 1024)
    except BodyTooLarge as exc:
        return exc.response()
    except BadParameter as exc:
        return bad_request(exc)
    spec = RunSpec(
        id=given.id or uuid.uuid4().hex,
        project=project_of(request, given.project),
        evaluation=(given.evaluation.name, given.evaluation.version),
        dataset=(given.dataset.name, given.dataset.version),
        model=(given.model.name, given.model.version),
        scorers=[s.model_dump() for s in given.scorers],
        trials=given.trials,
        n_rows=given.n_rows,
        config=given.config,
    )

    def store(conn: Connection, now: datetime) -> tuple[JSONObject, bool]:
        run, created = eval_runs.create_run(conn, spec, now)
        return _full_run(conn, run, now), created

    try:
        body, created = await write(request.app[ENGINE], store)
    except RunConflict as exc:
        return json_response({"error": {"message": str(exc), "param": "id"}}, status=409)
    except WriteFailed as exc:
        return exc.response()
    return json_response(body, status=201 if created else 200)


def _report(row: shapes.RowIn) -> RowReport:
    error = row.model_error.model_dump() if row.model_error is not None else None
    return RowReport(
        row_index=row.row_index,
        trial=row.trial,
        inputs=row.inputs,
        output=row.output,
        scores=dict(row.scores),
        scorer_errors=dict(row.scorer_errors),
        model_error=error,
        trace_id=row.trace_id,
        span_id=row.span_id,
        latency_ms=row.latency_ms,
    )


async def report_rows(request: web.Request) -> web.Response:
    run_id = request.match_info["run_id"]
    try:
        given = await read_model(request, shapes.RowsIn, MAX_BODY)
    except BodyTooLarge as exc:
        return exc.response()
    except BadParameter as exc:
        return bad_request(exc)
    reports = _last_per_key([_report(r) for r in given.rows])

    def store(conn: Connection, now: datetime) -> bool:
        return eval_runs.report_rows(conn, run_id, reports, now)

    try:
        known = await write(request.app[ENGINE], store)
    except WriteFailed as exc:
        return exc.response()
    if not known:
        return _unknown(run_id)
    return json_response({"stored": len(reports)})


def _last_per_key(reports: list[RowReport]) -> list[RowReport]:
    """One report per (row, trial), the last one given (one upsert cannot hold two)."""
    last = {(r.row_index, r.trial): r for r in reports}
    return list(last.values())


async def finish_run(request: web.Request) -> web.Response:
    run_id = request.match_info["run_id"]
    try:
        given = await read_model(request, shapes.FinishIn, MAX_BODY)
    except BodyTooLarge as exc:
        return exc.response()
    except BadParameter as exc:
        return bad_request(exc)

    # Before the transaction: on SQLite the writer needs the write lock to store them.
    await asyncio.to_thread(request.app[WRITER].flush, FINISH_FLUSH_S)

    def store(conn: Connection, now: datetime) -> JSONObject | None:
        run = eval_runs.get_run(conn, run_id)
        if run is None:
            return None
        if given.summary is not None:
            summary: JSONObject = dict(given.summary)
        else:
            rows = eval_runs.scored_rows(conn, run_id)
            summary = summarize_rows(rows, scorer_names(run, rows))  # type: ignore[assignment]
        finished = eval_runs.finish_run(conn, run_id, given.status, summary, now)
        assert finished is not None
        return _full_run(conn, finished, now)

    try:
        body = await write(request.app[ENGINE], store)
    except WriteFailed as exc:
        return exc.response()
    if body is None:
        return _unknown(run_id)
    return json_response(body)


async def get_run(request: web.Request) -> web.Response:
    run_id = request.match_info["run_id"]

    def run(conn: Connection) -> JSONObject | None:
        found = eval_runs.get_run(conn, run_id)
        return None if found is None else _full_run(conn, found, datetime.now(UTC))

    body = await read(request.app[ENGINE], run)
    if body is None:
        return _unknown(run_id)
    return json_response(body)


async def list_runs(request: web.Request) -> web.Response:
    params = request.query
    try:
        offset, limit = offset_limit(params, default=50, maximum=500)
        status = params.get("status")
        if status is not None and status not in STATUSES:
            raise BadParameter("status", f"status must be one of {', '.join(STATUSES)}")
    except BadParameter as exc:
        return bad_request(exc)
    q = RunQuery(
        project=project_of(request, params.get("project")),
        evaluation=params.get("evaluation") or None,
        dataset=params.get("dataset") or None,
        model=params.get("model") or None,
        status=status,
        offset=offset,
        limit=limit,
    )

    def run(conn: Connection) -> JSONObject:
        now = datetime.now(UTC)
        runs, total = eval_runs.list_runs(conn, q, now)
        latencies = eval_runs.latencies(conn, [r["id"] for r in runs])
        listed: list[JSON] = []
        for r in runs:
            summary = r["summary"] if isinstance(r["summary"], dict) else {}
            totals = eval_calls.run_totals(conn, r, now)
            listed.append(run_to_api(r, summary, totals, latencies[r["id"]], now))
        return {"runs": listed, "total": total}

    return json_response(await read(request.app[ENGINE], run))


def _row_to_api(row: Row, calls: eval_calls.CallTotals | None) -> JSONObject:
    totals = calls or eval_calls.CallTotals()
    return {
        "row_index": row["row_index"],
        "trial": row["trial"],
        "inputs": row["inputs"],
        "output": row["output"],
        "scores": row["scores"] or {},
        "scorer_errors": row["scorer_errors"] or {},
        "model_error": row["model_error"],
        "trace_id": row["trace_id"],
        "span_id": row["span_id"],
        "latency_ms": row["latency_ms"],
        "usage": totals.usage(),
        "cost_usd": totals.cost_usd,
        "call_ids": list(totals.call_ids),
    }


async def get_rows(request: web.Request) -> web.Response:
    run_id = request.match_info["run_id"]
    params = request.query
    try:
        offset, limit = offset_limit(params)
        failed = _flag(params.get("failed"))
    except BadParameter as exc:
        return bad_request(exc)

    def run(conn: Connection) -> JSONObject | None:
        found = eval_runs.get_run(conn, run_id)
        if found is None:
            return None
        rows, total = eval_runs.read_rows(conn, run_id, offset, limit, failed)
        calls = eval_calls.row_calls(conn, found, datetime.now(UTC), [r["row_index"] for r in rows])
        listed: list[JSON] = [_row_to_api(r, calls.get((r["row_index"], r["trial"]))) for r in rows]
        return {"rows": listed, "total": total}

    body = await read(request.app[ENGINE], run)
    if body is None:
        return _unknown(run_id)
    return json_response(body)


def _flag(text: str | None) -> bool | None:
    if text is None or text == "":
        return None
    if text.lower() in ("true", "1"):
        return True
    if text.lower() in ("false", "0"):
        return False
    raise BadParameter("failed", f"failed must be true or false, got {text!r}")


_RUN_ID = path_param("run_id", "the run's id")
_CONFLICT = "The id names a run of another evaluation or dataset."


def _with_conflict(op: JSONObject) -> JSONObject:
    """Also 200 (the run of that id resumed) and 409 (the id is another run's)."""
    shapes.also_answers(op, 200, "The run of that id, resumed.", ref(shapes.Run))
    return shapes.also_answers(op, 409, _CONFLICT, ref(schemas.Error))


_TEXT: JSONObject = {"type": "string"}

OPENAPI_PATHS: dict[str, dict[str, JSONObject]] = {
    "/api/evaluations/runs": {
        "post": _with_conflict(
            operation(
                "Create an evaluation run (201), or resume the run of that id (200)",
                ok=ref(shapes.Run),
                status=201,
                errors=(400, 413, 503),
                body=ref(shapes.RunIn),
            )
        ),
        "get": operation(
            "A project's evaluation runs, newest first",
            ok=ref(shapes.RunList),
            parameters=[
                query("project", _TEXT, "the project (default: the server's)"),
                query("evaluation", _TEXT, "only runs of this evaluation name"),
                query("dataset", _TEXT, "only runs on this dataset name"),
                query("model", _TEXT, "only runs of this model name"),
                query("status", {"type": "string", "enum": list(STATUSES)}, "only this status"),
                query("offset", {"type": "integer", "minimum": 0}, "runs to skip"),
                query("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "page size"),
            ],
        ),
    },
    "/api/evaluations/runs/{run_id}": {
        "get": operation(
            "One evaluation run: counts, summary, wire usage and cost, latency",
            ok=ref(shapes.Run),
            errors=(404,),
            parameters=[_RUN_ID],
            description="A running run with no report for 120 s reads as interrupted.",
        ),
    },
    "/api/evaluations/runs/{run_id}/rows": {
        "post": operation(
            "Report rows (upsert by row_index and trial); an empty list is a heartbeat",
            ok=ref(shapes.RowsStored),
            errors=(400, 404, 413, 503),
            parameters=[_RUN_ID],
            body=ref(shapes.RowsIn),
        ),
        "get": operation(
            "A page of a run's rows with each row's calls, tokens and cost",
            ok=ref(shapes.RunRows),
            errors=(400, 404),
            parameters=[
                _RUN_ID,
                query("offset", {"type": "integer", "minimum": 0}, "rows to skip"),
                query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "page size"),
                query("failed", {"type": "boolean"}, "only failed (true) or ok (false) rows"),
            ],
        ),
    },
    "/api/evaluations/runs/{run_id}/finish": {
        "post": operation(
            "Finish a run; without a summary the server computes it from the rows",
            ok=ref(shapes.Run),
            errors=(400, 404, 413, 503),
            parameters=[_RUN_ID],
            body=ref(shapes.FinishIn),
        ),
    },
}
