"""The built-in scorers, each in an evaluation (the way users run them)."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import openai
import pytest
import wiretrace
from wiretrace import scorers

from .conftest import Upstream
from .contract_server import ContractServer

ROWS = [
    {"question": "Capital of France?", "target": "Paris"},
    {"question": "Capital of Peru?", "target": "Lima"},
    {"question": "Capital of Japan?", "target": "Tokyo"},
]
ANSWERS = {
    "Capital of France?": " Paris ",
    "Capital of Peru?": "It is lima.",
    "Capital of Japan?": "Kyoto",
}


def answer(question: str) -> str:
    return ANSWERS[question]


def run(*chosen: object, rows: list[dict[str, Any]] = ROWS, model: Any = answer) -> dict[str, Any]:
    evaluation = wiretrace.Evaluation(
        dataset=wiretrace.Dataset(name="s", rows=rows), scorers=chosen
    )
    return evaluation.run(model)


def true_count(summary: dict[str, Any], name: str) -> int:
    return int(summary[name]["true_count"])


def test_text_scorers(traced: ContractServer) -> None:
    summary = run(scorers.ExactMatch(), scorers.Contains(), scorers.Regex(pattern=r"^[A-Z]\w+$"))
    assert true_count(summary, "ExactMatch") == 1  # " Paris " stripped
    assert true_count(summary, "Contains") == 2  # "lima" in "It is lima." ignoring case
    assert true_count(summary, "Regex") == 1  # only "Kyoto" is one capitalised word


def test_case_sensitive_contains_and_a_column_map(traced: ContractServer) -> None:
    rows = [{"question": q, "expected": r["target"]} for q, r in zip(ANSWERS, ROWS, strict=True)]
    summary = run(
        scorers.Contains(case_sensitive=True, column_map={"target": "expected"}), rows=rows
    )
    assert true_count(summary, "Contains") == 1


def test_json_scorers(traced: ContractServer) -> None:
    pytest.importorskip("jsonschema")
    outputs = {"a": '{"city": "Paris"}', "b": '{"city": 3}', "c": "not json"}
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    summary = run(
        scorers.ValidJSON(),
        scorers.JSONSchema(schema=schema),
        rows=[{"key": k} for k in outputs],
        model=lambda key: outputs[key],
    )
    assert true_count(summary, "ValidJSON") == 2
    assert true_count(summary, "JSONSchema") == 1


def test_string_similarity(traced: ContractServer) -> None:
    fuzz = pytest.importorskip("rapidfuzz.fuzz")
    summary = run(scorers.StringSimilarity())
    expected = [fuzz.ratio(ANSWERS[r["question"]], r["target"]) / 100 for r in ROWS]
    assert summary["StringSimilarity"]["mean"] == pytest.approx(sum(expected) / 3)


def test_embedding_similarity_calls_the_configured_client(
    traced: ContractServer, upstream: Upstream
) -> None:
    summary = run(scorers.EmbeddingSimilarity(client=upstream.client, threshold=0.99))
    first = [0.001 * j for j in range(8)]  # the fake's vectors for inputs 0 and 1
    second = [0.001 * (1 + j) for j in range(8)]
    dot = sum(a * b for a, b in zip(first, second, strict=True))
    cosine = dot / math.hypot(*first) / math.hypot(*second)
    result = summary["EmbeddingSimilarity"]
    assert result["similarity"]["mean"] == pytest.approx(cosine)
    assert result["passed"]["true_count"] == (3 if cosine >= 0.99 else 0)
    assert upstream.requests("/v1/embeddings") == 3


class Judge:
    """An OpenAI-compatible server whose model passes answers that contain the target."""

    def __init__(self) -> None:
        self.prompts: list[str] = []
        judge = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = body["messages"][0]["content"]
                judge.prompts.append(prompt)
                row = json.loads(prompt.split("Row: ", 1)[1].split("\n\n", 1)[0])
                output = prompt.rsplit("Answer to grade: ", 1)[1]
                verdict: Any = {"passed": row["target"] in output, "reason": "compared"}
                if row["target"] == "Tokyo":
                    verdict = "I think so"  # not the JSON asked for: a scorer error
                message = {"role": "assistant", "content": json.dumps(verdict)}
                data = json.dumps(
                    {
                        "id": "j",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body["model"],
                        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def judge() -> Iterator[Judge]:
    server = Judge()
    yield server
    server.stop()


def test_llm_judge_passes_fails_and_counts_an_unusable_answer(
    traced: ContractServer, judge: Judge
) -> None:
    client = openai.OpenAI(base_url=judge.url, api_key="sk-test-judge", max_retries=0)
    try:
        evaluation = wiretrace.Evaluation(
            dataset=wiretrace.Dataset(name="s", rows=ROWS),
            scorers=[scorers.LLMJudge(client=client)],
        )
        summary = evaluation.run(answer)
    finally:
        client.close()
    assert summary["LLMJudge"]["passed"] == {
        "true_count": 1,  # " Paris " contains Paris; "It is lima." lacks "Lima"
        "true_fraction": 1 / 3,
        "n": 3,
        "n_errors": 1,
    }
    assert summary["n_scorer_errors"] == 1 and len(judge.prompts) == 3
    stored = {row["row_index"]: row for row in traced.stored(evaluation.run_id or "")}
    assert (
        stored[2]["output"] == "Kyoto"
        and "did not answer" in stored[2]["scorer_errors"]["LLMJudge"]
    )


def test_a_scorer_whose_library_is_missing_fails_before_any_model_call(
    traced: ContractServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "rapidfuzz", None)  # import rapidfuzz now fails
    monkeypatch.setitem(sys.modules, "rapidfuzz.fuzz", None)
    called: list[str] = []
    evaluation = wiretrace.Evaluation(
        dataset=wiretrace.Dataset(name="s", rows=ROWS), scorers=[scorers.StringSimilarity()]
    )
    with pytest.raises(ImportError, match=r"StringSimilarity needs rapidfuzz: pip install"):
        evaluation.run(lambda question: called.append(question))
    assert called == []
