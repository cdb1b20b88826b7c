"""An evaluation to kill halfway and resume: run as ``python -m`` by the resume test.

The definition lives here so that the killed process and the resuming test share it (same
dataset, scorers and versions). ``python -m tests.sdk.evaluations.resumable <server>
<upstream>`` runs it to the end (unless killed).
"""

from __future__ import annotations

import sys
from typing import Any

import openai
import wiretrace

from tests.fakes.fake_streams import ANSWER

ROWS: list[dict[str, Any]] = [
    {"question": f"q{i}", "target": ANSWER if i % 3 else "no", "level": i} for i in range(40)
]
TRIALS = 2


def build(upstream_url: str, client: openai.OpenAI) -> tuple[wiretrace.Evaluation, Any]:
    @wiretrace.op
    def answer(question: str) -> str:
        reply = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": question}],
            extra_headers={"x-fake-scenario": "slow_0.05"},
        )
        return str(reply.choices[0].message.content)

    @wiretrace.op
    def exact_match(target: str, output: str) -> bool:
        return output == target

    @wiretrace.op
    def level_score(level: int, output: str) -> dict[str, Any]:
        return {"weighted": level * len(output) / 100, "even": level % 2 == 0}

    evaluation = wiretrace.Evaluation(
        name="resumable",
        dataset=wiretrace.Dataset(name="resumable", rows=ROWS),
        scorers=[exact_match, level_score],
        trials=TRIALS,
        parallelism=2,
    )
    return evaluation, answer


def client_for(upstream_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=upstream_url + "/v1", api_key="sk-test-eval-0000", max_retries=0)


def main() -> None:
    server_url, upstream_url = sys.argv[1], sys.argv[2]
    wiretrace.init(project="evals", url=server_url)
    client = client_for(upstream_url)
    evaluation, model = build(upstream_url, client)
    evaluation.run(model)


if __name__ == "__main__":
    main()
