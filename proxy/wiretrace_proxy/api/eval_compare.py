"""``GET /api/evaluations/compare?runs=a,b[,c,d]&baseline=a``: runs side by side.

Each metric's value per run, its delta to the baseline, the paired per-row difference with
a bootstrap 95% interval and, for boolean scores, the rows that flipped; warnings when the
runs were not measured on the same dataset or scorer versions (``evaluations.compare``
says exactly how). Reading two 10,000-row runs and comparing them takes well under a
second (``bench/bench_eval_compare.py``).
"""

from __future__ import annotations

import re

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

__all__ = ["MAX_RUNS", "OPENAPI_PATHS", "RUNS_PATTERN", "add_routes"]

MAX_RUNS = 4


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/api/evaluations/compare", compare)


RUNS_PATTERN = rf"^\s*[^,\s][^,]*(,\s*[^,\s][^,]*){{0,{MAX_RUNS - 1}}}$"
"""``runs``: 1 to ``MAX_RUNS`` comma-separated ids, none empty."""


def _run_ids(text: str | None) -> list[str]:
    """The runs to compare, in order, a repeated id once (a single run: values only)."""
    if text is None or re.match(RUNS_PATTERN, text) is None:
        raise BadParameter("runs", f"runs must name 1 to {MAX_RUNS} run ids, comma-separated")
    return list(dict.fromkeys(part.strip() for part in text.split(",")))


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
        if baseline not in ids:  # another run: the one the others are compared against
            ids.insert(0, baseline)
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
                    {"type": "string", "pattern": RUNS_PATTERN},
                    f"1 to {MAX_RUNS} run ids, comma-separated (usually 2 or more)",
                    required=True,
                ),
                query(
                    "baseline",
                    {"type": "string"},
                    "the run the others are compared against (default: the first of runs;"
                    " another run is added to them)",
                ),
            ],
            description="Rows are matched by row_index, each row's trials averaged first;"
            " the interval is a percentile bootstrap of the mean paired difference (1,000"
            " resamples, numpy default_rng seed 0). A boolean counts 1 for true and 0"
            " otherwise, failed rows included; a row passes when at least half its trials"
            " are true.",
        ),
    },
}
