"""``GET /api/evaluations/compare?runs=a,b[,c,d]&baseline=a``: runs side by side.

Each metric's value per run, its delta to the baseline, the paired per-row difference with
a bootstrap 95% interval and, for boolean scores, the rows that flipped; warnings when the
runs were not measured on the same dataset or scorer versions (``evaluations.compare``
says exactly how). Reading two 10,000-row runs and comparing them takes well under a
second (``bench/bench_eval_compare.py``).
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.engine import Connection

from wiretrace_proxy.api import eval_schemas as shapes
from wiretrace_proxy.api.errors import BadParameter, bad_request, not_found
from wiretrace_proxy.api.eval_runs import run_summary
from wiretrace_proxy.api.jsonio import json_response
from wiretrace_proxy.api.openapi import operation, query
from wiretrace_proxy.api.reads import read
from wiretrace_proxy.api.schemas import ref
from wiretrace_proxy.appkeys import ENGINE
from wiretrace_proxy.callrecord import JSONObject
from wiretrace_proxy.evaluations.compare import RunData, compare_runs
from wiretrace_proxy.storage import eval_runs

__all__ = ["MAX_RUNS", "OPENAPI_PATHS", "add_routes"]

MAX_RUNS = 4


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/api/evaluations/compare", compare)


def _run_ids(text: str | None) -> list[str]:
    ids = [part.strip() for part in (text or "").split(",") if part.strip()]
    if not 2 <= len(ids) <= MAX_RUNS:
        raise BadParameter("runs", f"runs must name 2 to {MAX_RUNS} run ids, comma-separated")
    if len(set(ids)) != len(ids):
        raise BadParameter("runs", "runs names a run twice")
    return ids


def _run_data(conn: Connection, run_id: str) -> RunData | None:
    run = eval_runs.get_run(conn, run_id)
    if run is None:
        return None
    rows = eval_runs.scored_rows(conn, run_id)
    scorers = run["scorers"] if isinstance(run["scorers"], list) else []
    versions = {
        str(s["name"]): str(s.get("version"))
        for s in scorers
        if isinstance(s, dict) and "name" in s
    }
    return RunData(
        id=run_id,
        dataset=(run["dataset_name"], run["dataset_version"]),
        scorers=versions,
        summary=run_summary(run, rows),
        rows=rows,
    )


async def compare(request: web.Request) -> web.Response:
    try:
        ids = _run_ids(request.query.get("runs"))
        baseline = request.query.get("baseline") or ids[0]
        if baseline not in ids:
            raise BadParameter("baseline", f"baseline {baseline!r} is not one of runs")
    except BadParameter as exc:
        return bad_request(exc)

    def run(conn: Connection) -> JSONObject | str:
        runs: list[RunData] = []
        for run_id in ids:
            data = _run_data(conn, run_id)
            if data is None:
                return run_id
            runs.append(data)
        return compare_runs(runs, baseline)

    result = await read(request.app[ENGINE], run)
    if isinstance(result, str):
        return not_found(f"no evaluation run with id {result!r}")
    return json_response(result)


OPENAPI_PATHS: dict[str, dict[str, JSONObject]] = {
    "/api/evaluations/compare": {
        "get": operation(
            "Evaluation runs against a baseline: deltas, paired bootstrap intervals, flips",
            ok=ref(shapes.EvalComparison),
            errors=(400, 404),
            parameters=[
                query(
                    "runs",
                    {"type": "string"},
                    f"2 to {MAX_RUNS} run ids, comma-separated",
                    required=True,
                ),
                query("baseline", {"type": "string"}, "one of runs (default: the first)"),
            ],
            description="Rows are matched by row_index, each row's trials averaged first;"
            " the interval is a percentile bootstrap of the mean paired difference (1,000"
            " resamples, numpy default_rng seed 0). A boolean counts 1 for true and 0"
            " otherwise, failed rows included; a row passes when at least half its trials"
            " are true.",
        ),
    },
}
