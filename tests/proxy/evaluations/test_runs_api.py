"""``/api/evaluations/runs``: create, report rows, finish, read; with curl alone too.

A run is created with a client-chosen id, rows are reported (a retried row replaces its
earlier report), and a run finished without a summary gets the one the server computes
from the rows (failed rows in every denominator). A running run that stops reporting reads
as ``interrupted`` until its next report.
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from wiretrace_proxy.appkeys import ENGINE
from wiretrace_proxy.storage.models import EVAL_RUNS

from tests.harness import Servers
from tests.proxy.evaluations.client import call, new_run, ok

pytestmark = pytest.mark.both_databases

ROWS: list[dict[str, Any]] = [
    {"row_index": 0, "inputs": {"q": "2+2"}, "output": "4",
     "scores": {"exact_match": True, "close": {"ratio": 0.9}}, "latency_ms": 10.0},
    {"row_index": 1, "inputs": {"q": "3+3"}, "output": "7",
     "scores": {"exact_match": False, "close": {"ratio": 0.5}}, "latency_ms": 20.0},
    {"row_index": 2, "inputs": {"q": "4+4"}, "output": None, "scores": {},
     "model_error": {"type": "TimeoutError", "message": "upstream took too long"}},
    {"row_index": 3, "inputs": {"q": "5+5"}, "output": "10", "scores": {"exact_match": True},
     "scorer_errors": {"close": "ZeroDivisionError: division by zero"}, "latency_ms": 30.0},
]  # fmt: skip


def curl(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    """One request with the ``curl`` command line, as a user without the SDK makes it."""
    args = ["curl", "-sS", "-X", method, "-w", "\n%{http_code}", url]
    if body is not None:
        args += ["-H", "Content-Type: application/json", "--data-binary", json.dumps(body)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=True)
    text, _, code = done.stdout.rpartition("\n")
    return int(code), json.loads(text)


def test_a_run_logged_with_curl_alone_gets_its_summary_from_the_server(
    servers: Servers,
) -> None:
    base = f"{servers.proxy_url}/api/evaluations/runs"
    status, run = curl(
        "POST",
        base,
        {
            "id": "curl-run-1",
            "evaluation": {"name": "qa", "version": "e1"},
            "dataset": {"name": "qa-set", "version": "d1"},
            "model": {"name": "gpt-4o-mini", "version": "plain"},
            "scorers": [{"name": "exact_match", "version": "1"}, {"name": "close", "version": "1"}],
            "trials": 1,
            "n_rows": 4,
        },
    )
    assert status == 201 and run["id"] == "curl-run-1" and run["status"] == "running"
    assert run["n_done"] == 0 and run["n_rows"] == 4 and run["usage"]["total_tokens"] is None
    status, stored = curl("POST", f"{base}/curl-run-1/rows", {"rows": ROWS[:2]})
    assert (status, stored) == (200, {"stored": 2})
    status, stored = curl("POST", f"{base}/curl-run-1/rows", {"rows": ROWS[2:]})
    assert (status, stored) == (200, {"stored": 2})
    status, run = curl("POST", f"{base}/curl-run-1/finish", {"status": "finished"})
    assert status == 200 and run["status"] == "finished" and run["ended_at"]
    ratios = [0.9, 0.5]
    assert run["summary"] == {
        # a crashed model's row counts in n, and as not true
        "exact_match": {"true_count": 2, "true_fraction": 0.5, "n": 4, "n_errors": 1},
        "close": {
            "ratio": {
                "mean": pytest.approx(statistics.mean(ratios)),
                "stderr": pytest.approx(statistics.stdev(ratios) / math.sqrt(2)),
                "n": 4,
                "n_errors": 2,
            }
        },
    }
    assert (run["n_done"], run["n_ok"], run["n_model_errors"], run["n_scorer_errors"]) == (
        4, 2, 1, 1,
    )  # fmt: skip
    assert run["latency_ms"]["mean"] == pytest.approx(20.0)
    assert run["latency_ms"]["p50"] == pytest.approx(20.0)
    status, again = curl("GET", f"{base}/curl-run-1")
    assert status == 200 and again["summary"] == run["summary"]


def test_a_summary_sent_by_the_client_is_kept_as_sent(servers: Servers) -> None:
    base = servers.proxy_url
    new_run(base, "sdk-run")
    ok(base, "POST", "/api/evaluations/runs/sdk-run/rows", {"rows": ROWS})
    summary = {"exact_match": {"true_count": 2, "true_fraction": 0.5, "n": 4, "n_errors": 1}}
    run = ok(base, "POST", "/api/evaluations/runs/sdk-run/finish",
             {"status": "failed", "summary": summary})  # fmt: skip
    assert run["status"] == "failed" and run["summary"] == summary


def test_a_retried_row_replaces_its_failed_report(servers: Servers) -> None:
    base = servers.proxy_url
    new_run(base, "retry-run")
    ok(base, "POST", "/api/evaluations/runs/retry-run/rows", {"rows": ROWS})
    failed = ok(base, "GET", "/api/evaluations/runs/retry-run/rows?failed=true")
    assert [r["row_index"] for r in failed["rows"]] == [2, 3] and failed["total"] == 2
    retried = {**ROWS[2], "output": "8", "scores": {"exact_match": True}, "model_error": None}
    assert ok(base, "POST", "/api/evaluations/runs/retry-run/rows", {"rows": [retried]}) == {
        "stored": 1
    }
    run = ok(base, "GET", "/api/evaluations/runs/retry-run")
    assert (run["n_done"], run["n_ok"], run["n_model_errors"]) == (4, 3, 0)
    rows = ok(base, "GET", "/api/evaluations/runs/retry-run/rows")
    assert rows["total"] == 4
    assert rows["rows"][2]["output"] == "8" and rows["rows"][2]["model_error"] is None
    failed = ok(base, "GET", "/api/evaluations/runs/retry-run/rows?failed=true")
    assert [r["row_index"] for r in failed["rows"]] == [3]
    # the summary so far counts the retried row as a success
    assert run["summary"]["exact_match"]["true_count"] == 3


def test_a_run_gone_quiet_reads_interrupted_until_it_reports_again(servers: Servers) -> None:
    base = servers.proxy_url
    new_run(base, "quiet-run")
    ok(base, "POST", "/api/evaluations/runs/quiet-run/rows", {"rows": ROWS[:1]})
    assert ok(base, "GET", "/api/evaluations/runs/quiet-run")["status"] == "running"
    long_ago = datetime.now(UTC) - timedelta(seconds=121)  # the client died 121 s ago
    with servers.app[ENGINE].begin() as conn:
        conn.execute(
            sa.update(EVAL_RUNS)
            .where(EVAL_RUNS.c.id == "quiet-run")
            .values(last_report_at=long_ago)
        )
    assert ok(base, "GET", "/api/evaluations/runs/quiet-run")["status"] == "interrupted"
    listed = ok(base, "GET", "/api/evaluations/runs?status=interrupted")
    assert [r["id"] for r in listed["runs"]] == ["quiet-run"] and listed["total"] == 1
    assert ok(base, "GET", "/api/evaluations/runs?status=running")["runs"] == []
    ok(base, "POST", "/api/evaluations/runs/quiet-run/rows", {"rows": []})  # a heartbeat
    run = ok(base, "GET", "/api/evaluations/runs/quiet-run")
    assert run["status"] == "running" and run["n_done"] == 1


def test_posting_a_run_id_again_resumes_it_and_another_evaluation_conflicts(
    servers: Servers,
) -> None:
    base = servers.proxy_url
    first = new_run(base, "resumable")
    ok(base, "POST", "/api/evaluations/runs/resumable/rows", {"rows": ROWS[:2]})
    ok(base, "POST", "/api/evaluations/runs/resumable/finish", {"status": "failed"})
    status, resumed = call(base, "POST", "/api/evaluations/runs", {
        "id": "resumable", "evaluation": {"name": "qa", "version": "e1"},
        "dataset": {"name": "qa-set", "version": "d1"},
        "model": {"name": "m", "version": "v1"}, "n_rows": 4,
    })  # fmt: skip
    assert status == 200 and resumed["status"] == "running" and resumed["n_done"] == 2
    assert resumed["started_at"] == first["started_at"] and resumed["ended_at"] is None
    status, refused = call(base, "POST", "/api/evaluations/runs", {
        "id": "resumable", "evaluation": {"name": "qa", "version": "e1"},
        "dataset": {"name": "other-set", "version": "d9"},
        "model": {"name": "m", "version": "v1"}, "n_rows": 4,
    })  # fmt: skip
    assert status == 409 and refused["error"]["param"] == "id"


def test_runs_are_listed_newest_first_and_filtered(servers: Servers) -> None:
    base = servers.proxy_url
    new_run(base, "r-a", model="alpha")
    new_run(base, "r-b", model="beta")
    listed = ok(base, "GET", "/api/evaluations/runs")
    assert [r["id"] for r in listed["runs"]] == ["r-b", "r-a"] and listed["total"] == 2
    only = ok(base, "GET", "/api/evaluations/runs?model=alpha")
    assert [r["id"] for r in only["runs"]] == ["r-a"]
    assert ok(base, "GET", "/api/evaluations/runs?project=elsewhere") == {"runs": [], "total": 0}
    page = ok(base, "GET", "/api/evaluations/runs?offset=1&limit=1")
    assert [r["id"] for r in page["runs"]] == ["r-a"] and page["total"] == 2


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"rows": [{"row_index": -1}]}, "rows.0.row_index"),
        ({"rows": [{"row_index": 0, "trial": "first"}]}, "rows.0.trial"),
        ({"rows": [{"row_index": 0, "trial": True}]}, "rows.0.trial"),
        ({"rows": [{"row_index": 0.5}]}, "rows.0.row_index"),
        ({"rows": [{"row_index": 0, "latency_ms": False}]}, "rows.0.latency_ms"),
        ({"rows": [{"row_index": 0, "colour": "red"}]}, "rows.0.colour"),
        ({"rows": [{"row_index": 0, "scorer_errors": {"close": 3}}]}, "rows.0.scorer_errors.close"),
        ({}, "rows"),
        ([], "body"),
    ],
)
def test_a_bad_row_report_is_a_400_naming_the_field(
    servers: Servers, body: Any, param: str
) -> None:
    new_run(servers.proxy_url, "strict")
    status, answer = call(servers.proxy_url, "POST", "/api/evaluations/runs/strict/rows", body)
    assert status == 400 and answer["error"]["param"] == param
    assert param in answer["error"]["message"] and "\n" not in answer["error"]["message"]


def test_unknown_runs_are_404(servers: Servers) -> None:
    base = servers.proxy_url
    requests: list[tuple[str, str, Any]] = [
        ("GET", "/api/evaluations/runs/nope", None),
        ("GET", "/api/evaluations/runs/nope/rows", None),
        ("POST", "/api/evaluations/runs/nope/rows", {"rows": []}),
        ("POST", "/api/evaluations/runs/nope/finish", {"status": "finished"}),
    ]
    for method, path, body in requests:
        status, answer = call(base, method, path, body)
        assert status == 404 and "nope" in answer["error"]["message"], (method, path)


def test_a_run_created_twice_at_once_is_one_run(servers: Servers) -> None:
    def create(_: int) -> tuple[int, Any]:
        return call(servers.proxy_url, "POST", "/api/evaluations/runs", {
            "id": "raced-run", "evaluation": {"name": "qa", "version": "e1"},
            "dataset": {"name": "qa-set", "version": "d1"},
            "model": {"name": "m", "version": "v1"}, "n_rows": 4,
        })  # fmt: skip

    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(status for status, _ in pool.map(create, range(6)))
    assert statuses == [200] * 5 + [201]
    assert ok(servers.proxy_url, "GET", "/api/evaluations/runs")["total"] == 1


def test_whole_numbers_may_be_spelled_as_floats(servers: Servers) -> None:
    new_run(servers.proxy_url, "floaty", n_rows=4.0)
    body = {"rows": [{"row_index": 2.0, "trial": 0.0, "latency_ms": 3}]}
    assert ok(servers.proxy_url, "POST", "/api/evaluations/runs/floaty/rows", body) == {"stored": 1}
    rows = ok(servers.proxy_url, "GET", "/api/evaluations/runs/floaty/rows")["rows"]
    assert (rows[0]["row_index"], rows[0]["trial"], rows[0]["latency_ms"]) == (2, 0, 3.0)
