"""A run killed with SIGKILL halfway, then resumed: only the missing rows run again, and
the summary equals an uninterrupted run's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import wiretrace

from . import resumable
from .conftest import Upstream
from .contract_server import ContractServer

ROOT = Path(__file__).resolve().parents[3]
TOTAL = len(resumable.ROWS) * resumable.TRIALS


def scorer_parts(summary: dict[str, object]) -> dict[str, object]:
    return {key: summary[key] for key in ("exact_match", "level_score", "n_rows", "n_ok")}


def test_a_killed_run_resumes_with_only_the_missing_rows(
    traced: ContractServer, upstream: Upstream
) -> None:
    env = {**os.environ, "WIRETRACE_QUIET": "1"}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.sdk.evaluations.resumable", traced.url, upstream.url],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert traced.wait_for(
            lambda s: any(len(rows) >= TOTAL // 3 for rows in s.rows.values()), timeout=60
        ), child.stderr.read().decode() if child.poll() is not None and child.stderr else ""
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
        if child.stderr is not None:
            child.stderr.close()
    time.sleep(0.3)  # requests in flight at the kill reach the fake's log
    (run_id,) = traced.runs
    stored = len(traced.stored(run_id))
    assert 0 < stored < TOTAL
    before = upstream.requests()

    evaluation, model = resumable.build(upstream.url, upstream.client)
    resumed = evaluation.run(model, resume=run_id)
    assert upstream.requests() - before == TOTAL - stored
    assert evaluation.run_id == run_id
    assert len(traced.stored(run_id)) == TOTAL and traced.runs[run_id]["status"] == "finished"

    fresh, model = resumable.build(upstream.url, upstream.client)
    uninterrupted = fresh.run(model)
    assert fresh.run_id != run_id
    assert scorer_parts(resumed) == scorer_parts(uninterrupted)
    assert resumed["n_ok"] == TOTAL


def test_resume_re_runs_failed_rows(traced: ContractServer) -> None:
    failing = {"on": True}

    @wiretrace.op
    def sometimes(question: str, level: int) -> str:
        if failing["on"] and level % 2:
            raise RuntimeError("flaky")
        return question

    calls: list[str] = []

    @wiretrace.op
    def seen(output: str) -> bool:
        calls.append(output)
        return True

    dataset = wiretrace.Dataset(name="r", rows=resumable.ROWS[:10])
    first = wiretrace.Evaluation(dataset=dataset, scorers=[seen])
    summary = first.run(sometimes)
    assert summary["n_model_errors"] == 5 and summary["seen"]["true_count"] == 5
    failing["on"] = False
    calls.clear()
    again = wiretrace.Evaluation(dataset=dataset, scorers=[seen])
    summary = again.run(sometimes, resume=first.run_id)
    assert sorted(calls) == sorted(f"q{i}" for i in range(1, 10, 2))
    assert summary["n_ok"] == 10 and summary["seen"]["true_fraction"] == 1.0


def test_ctrl_c_marks_the_run_failed_and_it_resumes(
    traced: ContractServer, upstream: Upstream
) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.sdk.evaluations.resumable", traced.url, upstream.url],
        cwd=ROOT,
        env={**os.environ, "WIRETRACE_QUIET": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert traced.wait_for(lambda s: any(len(rows) >= 10 for rows in s.rows.values()))
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert "KeyboardInterrupt" in err
    (run_id,) = traced.runs
    assert traced.wait_for(lambda s: s.runs[run_id]["status"] == "failed", timeout=10)
    stored = len(traced.stored(run_id))
    before = upstream.requests()
    evaluation, model = resumable.build(upstream.url, upstream.client)
    summary = evaluation.run(model, resume=run_id)
    assert upstream.requests() - before == TOTAL - stored
    assert summary["n_ok"] == TOTAL and traced.runs[run_id]["status"] == "finished"


def test_resuming_with_another_dataset_version_is_refused(traced: ContractServer) -> None:
    first = wiretrace.Evaluation(dataset=wiretrace.Dataset(name="r", rows=resumable.ROWS[:4]))
    first.run(lambda question: question)
    changed = wiretrace.Evaluation(dataset=wiretrace.Dataset(name="r", rows=resumable.ROWS[:5]))
    calls: list[str] = []
    with pytest.raises(ValueError, match=f"run {first.run_id} was made with dataset version"):
        changed.run(lambda question: calls.append(question), resume=first.run_id)
    assert calls == []
