"""``wiretrace replay``: a dataset of recorded calls re-sent with overrides, as a scored run.

Calls are recorded with the real ``openai`` SDK, made into a dataset, and replayed through
the proxy with another model, a ``--set`` field and a new system prompt. The upstream
receives the overridden requests (and no wiretrace headers), each row gets its call, and
the run is finished with the summary the server computes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import openai
import pytest
from wiretrace_proxy.cli import main

from tests.harness import Servers
from tests.proxy.evaluations.client import ok

KEY = "sk-test-replay-000000000000000000000001"


def rows_with_calls(servers: Servers, run_id: str, within_s: float = 30) -> list[Any]:
    """The run's rows once each has its call: a batch of calls that met the replay's own
    writes to the run (SQLite has one writer) may wait in the spool for a moment first."""
    deadline = time.monotonic() + within_s
    while True:
        servers.flush()
        rows: list[Any] = ok(servers.proxy_url, "GET", f"/api/evaluations/runs/{run_id}/rows")[
            "rows"
        ]
        if all(r["call_ids"] for r in rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_a_replay_resends_each_recorded_request_with_the_overrides(
    servers: Servers, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    client = openai.OpenAI(api_key=KEY, base_url=servers.base_url, max_retries=0)
    questions = ["What is 2+2?", "Name a colour."]
    for question in questions:
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "system", "content": "Be terse."},
                      {"role": "user", "content": question}],
            stream=True,
        )  # fmt: skip
    servers.flush()
    ok(servers.proxy_url, "POST", "/api/datasets/from-calls", {"name": "recorded"})
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Answer like a pirate.")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    seen_before = len(servers.fake.seen)

    code = main([
        "replay", "recorded", "--model", "gpt-4o", "--set", "temperature=0",
        "--set", "user=replayer", "--system-prompt-file", str(prompt),
        "--scorer", "ExactMatch", "--scorer", "Contains", "--server", servers.proxy_url,
    ])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out

    sent = servers.fake.seen[seen_before:]
    assert len(sent) == 2
    for seen, question in zip(sent, questions, strict=True):
        body = json.loads(seen.body)
        assert body["model"] == "gpt-4o" and body["temperature"] == 0
        assert body["user"] == "replayer" and "stream" not in body
        assert body["messages"] == [{"role": "system", "content": "Answer like a pirate."},
                                    {"role": "user", "content": question}]  # fmt: skip
        assert not any(name.lower().startswith("wiretrace-") for name in seen.headers)
        assert seen.headers.get("authorization") == f"Bearer {KEY}"

    run_id = out.split()[1].rstrip(":")
    run = ok(servers.proxy_url, "GET", f"/api/evaluations/runs/{run_id}")
    assert run["status"] == "finished" and run["n_done"] == 2 and run["n_ok"] == 2
    assert run["model"]["name"] == "gpt-4o" and run["dataset"]["name"] == "recorded"
    assert [s["name"] for s in run["scorers"]] == ["ExactMatch", "Contains"]
    rows = rows_with_calls(servers, run_id)
    assert [len(r["call_ids"]) for r in rows] == [1, 1]
    assert all(r["usage"]["total_tokens"] for r in rows)
    exact = [r["scores"]["ExactMatch"] for r in rows]
    assert run["summary"]["ExactMatch"] == {
        "true_count": sum(exact), "true_fraction": sum(exact) / 2, "n": 2, "n_errors": 0,
    }  # fmt: skip
    assert f"run {run_id}: 2 rows, 2 ok" in out


def test_an_unknown_scorer_is_one_line(
    servers: Servers, capsys: pytest.CaptureFixture[str]
) -> None:
    ok(servers.proxy_url, "POST", "/api/datasets", {"name": "d", "rows": [{"inputs": {}}]})
    code = main(["replay", "d", "--model", "m", "--scorer", "Telepathy",
                 "--server", servers.proxy_url])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and "no scorer 'Telepathy'" in err and len(err.strip().splitlines()) == 1
