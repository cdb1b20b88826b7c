"""Evaluations end to end: the SDK, the real wiretrace server, the fake OpenAI upstream.

The model's OpenAI calls go through the proxy (``init()`` rewrites the default base URL),
tagged with the row's headers; the server files each call under its row, so a row's tokens
and cost are those of its recorded calls. A run killed with SIGKILL is resumed against the
same server. Two runs are compared with ``/api/evaluations/compare``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import wiretrace
from wiretrace import _state

from tests.fakes.fake_streams import ANSWER
from tests.harness import Servers
from tests.sdk.evaluations import resumable

ROOT = Path(__file__).resolve().parents[2]
ROWS: list[dict[str, Any]] = [
    {"question": f"question {i}", "target": ANSWER if i % 2 else "no", "calls": 1 + i % 3}
    for i in range(6)
]


@pytest.fixture
def servers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Servers]:
    monkeypatch.setenv("WIRETRACE_QUIET", "1")
    running = Servers(f"sqlite:///{tmp_path / 'w.db'}", key_salt="s")
    try:
        yield running
    finally:
        _state.reset()
        running.close()


def get(servers: Servers, path: str) -> Any:
    with urllib.request.urlopen(servers.proxy_url + path) as response:
        return json.load(response)


def wait_for_calls(servers: Servers, run_id: str, calls: int) -> Any:
    """The run's rows once ``calls`` calls are filed under them (a write the database
    refused for a moment is spooled and replayed a little later)."""
    deadline = time.monotonic() + 15
    while True:
        rows = get(servers, f"/api/evaluations/runs/{run_id}/rows")["rows"]
        if sum(len(row["call_ids"]) for row in rows) >= calls or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


@wiretrace.op
def exact_match(target: str, output: str) -> bool:
    return output == target


def asker(client: openai.OpenAI) -> Any:
    @wiretrace.op
    def ask(question: str, calls: int) -> str:
        text = ""
        for _ in range(calls):  # a row may make several calls: its cost is their sum
            reply = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": question}]
            )
            text = str(reply.choices[0].message.content)
        return text

    return ask


def test_each_rows_tokens_and_cost_are_those_of_its_proxied_calls(servers: Servers) -> None:
    client = openai.OpenAI(api_key="sk-test-eval-0000000000000000", max_retries=0)
    wiretrace.init(project="evals", url=servers.proxy_url)
    evaluation = wiretrace.Evaluation(
        name="wire", dataset=wiretrace.Dataset(name="wire", rows=ROWS), scorers=[exact_match]
    )
    summary = evaluation.run(asker(client))
    client.close()
    servers.flush()
    run_id = evaluation.run_id or ""

    rows = wait_for_calls(servers, run_id, sum(row["calls"] for row in ROWS))
    assert len(rows) == len(ROWS)
    total_tokens = 0
    total_cost = 0.0
    for row in rows:
        calls = [get(servers, f"/api/calls/{call_id}") for call_id in row["call_ids"]]
        assert len(calls) == ROWS[row["row_index"]]["calls"]
        assert {c["attributes"]["eval_run"] for c in calls} == {run_id}
        assert {(c["attributes"]["eval_row"], c["attributes"]["eval_trial"]) for c in calls} == {
            (row["row_index"], 0)
        }
        tokens = sum(c["usage"]["total_tokens"] for c in calls)
        cost = sum(c["cost_usd"] for c in calls)
        assert row["usage"]["total_tokens"] == tokens > 0
        assert row["cost_usd"] == pytest.approx(cost) and cost > 0
        assert all(c["trace_id"] == row["trace_id"] for c in calls)
        total_tokens += tokens
        total_cost += cost
    assert not any(k.startswith("wiretrace-eval") for s in servers.fake.seen for k in s.headers)

    run = get(servers, f"/api/evaluations/runs/{run_id}")
    assert run["status"] == "finished" and run["n_rows"] == run["n_done"] == run["n_ok"] == 6
    assert run["summary"]["exact_match"] == summary["exact_match"]
    assert run["summary"]["exact_match"]["true_count"] == 3
    assert run["usage"]["total_tokens"] == total_tokens
    assert run["cost_usd"] == pytest.approx(total_cost)
    assert run["dataset"]["version"] == evaluation.dataset.version
    datasets = get(servers, "/api/datasets/wire?project=evals")
    assert [v["version"] for v in datasets["versions"]] == [evaluation.dataset.version]


def test_a_run_killed_halfway_resumes_against_the_server(servers: Servers) -> None:
    total = len(resumable.ROWS) * resumable.TRIALS
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.sdk.evaluations.resumable",
            servers.proxy_url,
            servers.proxy_url,  # the model's client goes through the proxy
        ],
        cwd=ROOT,
        env={**os.environ, "WIRETRACE_QUIET": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        run_id = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            runs = get(servers, "/api/evaluations/runs?project=evals")["runs"]
            if runs and runs[0]["n_done"] >= total // 3:
                run_id = runs[0]["id"]
                break
            time.sleep(0.05)
        assert run_id, "the child never reported a third of its rows"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    time.sleep(0.3)
    servers.flush()
    stored = get(servers, f"/api/evaluations/runs/{run_id}")["n_done"]
    assert 0 < stored < total
    before = len(servers.fake.seen)

    wiretrace.init(project="evals", url=servers.proxy_url)
    client = resumable.client_for(servers.proxy_url)
    evaluation, model = resumable.build(servers.proxy_url, client)
    resumed = evaluation.run(model, resume=run_id)
    assert len(servers.fake.seen) - before == total - stored

    fresh, model = resumable.build(servers.proxy_url, client)
    uninterrupted = fresh.run(model)
    client.close()
    for key in ("exact_match", "level_score", "n_rows", "n_ok"):
        assert resumed[key] == uninterrupted[key], key
    run = get(servers, f"/api/evaluations/runs/{run_id}")
    assert run["status"] == "finished" and run["n_done"] == total
    assert run["summary"]["exact_match"] == uninterrupted["exact_match"]


def test_two_runs_compare_with_flips(servers: Servers) -> None:
    wiretrace.init(project="evals", url=servers.proxy_url)
    rows = [{"question": f"q{i}", "target": f"q{i}"} for i in range(8)]

    def evaluation() -> wiretrace.Evaluation:
        return wiretrace.Evaluation(
            name="cmp", dataset=wiretrace.Dataset(name="cmp", rows=rows), scorers=[exact_match]
        )

    baseline, candidate = evaluation(), evaluation()
    baseline.run(lambda question: question)
    candidate.run(lambda question: question if question not in ("q1", "q2") else "?")
    body = get(
        servers,
        f"/api/evaluations/compare?runs={baseline.run_id},{candidate.run_id}"
        f"&baseline={baseline.run_id}",
    )
    (metric,) = [m for m in body["metrics"] if m["metric"] == "exact_match.true_fraction"]
    assert metric["values"] == {baseline.run_id: 1.0, candidate.run_id: 0.75}
    assert metric["deltas"][candidate.run_id] == pytest.approx(-0.25)
    assert metric["flips"][candidate.run_id] == {"pass_to_fail": 2, "fail_to_pass": 0}
    assert metric["paired"][candidate.run_id]["n"] == 8
    assert not body.get("warnings")


def test_a_dataset_from_recorded_calls_replays_them(servers: Servers) -> None:
    client = openai.OpenAI(
        api_key="sk-test-eval-0000000000000000",
        max_retries=0,
        default_headers={"Wiretrace-Session-Id": "prod-7"},
    )
    wiretrace.init(project="evals", url=servers.proxy_url)
    for question in ("one?", "two?", "three?"):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": question}]
        )
    servers.flush()
    deadline = time.monotonic() + 15  # a write refused for a moment is replayed soon after
    while len(get(servers, "/api/calls?session_id=prod-7")["calls"]) < 3:
        assert time.monotonic() < deadline, "the three calls were never stored"
        time.sleep(0.1)
    dataset = wiretrace.Dataset.from_calls("replay", project="evals", session_id="prod-7")
    assert len(dataset) == 3
    asked = sorted(row["inputs"]["messages"][0]["content"] for row in dataset.rows)
    assert asked == ["one?", "three?", "two?"]
    again = wiretrace.Dataset.from_server("replay", project="evals")
    assert again.version == dataset.version and again.rows == dataset.rows

    replayer = openai.OpenAI(api_key="sk-test-eval-0000000000000000", max_retries=0)

    @wiretrace.op
    def replay(inputs: dict[str, Any]) -> Any:
        return replayer.chat.completions.create(**inputs).model_dump()

    @wiretrace.op
    def same_answer(output: Any, reference_output: Any) -> bool:
        return bool(
            output["choices"][0]["message"]["content"]
            == reference_output["choices"][0]["message"]["content"]
        )

    summary = wiretrace.Evaluation(dataset=dataset, scorers=[same_answer]).run(replay)
    client.close()
    replayer.close()
    assert summary["same_answer"]["true_count"] == 3


def test_a_guarded_server_stores_the_run_with_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "tok-eval-4c2b9e0d7a1f3e58"
    monkeypatch.setenv("WIRETRACE_QUIET", "1")
    monkeypatch.setenv("WIRETRACE_TOKEN", token)
    guarded = Servers(f"sqlite:///{tmp_path / 'g.db'}", key_salt="s", auth_tokens=(token,))
    try:
        wiretrace.init(project="evals", url=guarded.proxy_url)
        evaluation = wiretrace.Evaluation(
            dataset=wiretrace.Dataset(name="g", rows=ROWS[:2]), scorers=[exact_match]
        )
        evaluation.run(lambda question: question)
        run = wiretrace.client(guarded.proxy_url).get(f"/api/evaluations/runs/{evaluation.run_id}")
        assert isinstance(run, dict) and run["status"] == "finished" and run["n_done"] == 2
    finally:
        _state.reset()
        guarded.close()
