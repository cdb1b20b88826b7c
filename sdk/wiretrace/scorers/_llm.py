"""Scorers that ask a model: embedding similarity, and an LLM judge.

Both call the model with an OpenAI client: ``client`` when given (any configured
``openai.OpenAI``, e.g. for another base URL), else ``openai.OpenAI()`` created on first
use. After ``wiretrace.init()`` that client's requests to OpenAI go through the proxy, so the
scorer's calls are recorded, priced and nested under the scorer's span.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from wiretrace._op import op
from wiretrace._scorer import Scorer

from ._optional import require

__all__ = ["EmbeddingSimilarity", "LLMJudge"]

JUDGE_PROMPT = (
    "You are grading an answer. Reply with a JSON object "
    '{{"passed": true or false, "reason": "<one sentence>"}}.\n\n'
    "Row: {row}\n\nAnswer to grade: {output}"
)
"""The default judge prompt: ``{output}``, ``{row}`` (all columns as JSON) and any column
name (``{question}``) are filled in."""


def _ready(scorer: Any) -> None:
    if scorer.client is None:
        require("openai", type(scorer).__name__)


def _client(scorer: Any) -> Any:
    if scorer.client is None:
        openai = require("openai", type(scorer).__name__)
        scorer.client = openai.OpenAI()
    return scorer.client


def _cosine(a: list[float], b: list[float]) -> float:
    dot = math.fsum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(math.fsum(x * x for x in a)) * math.sqrt(math.fsum(y * y for y in b))
    return dot / norm if norm else 0.0


class EmbeddingSimilarity(Scorer):
    """Cosine similarity of the embeddings of ``output`` and ``target``:
    ``{"similarity": float, "passed": similarity >= threshold}``."""

    model: str = "text-embedding-3-small"
    threshold: float = 0.8
    client: Any = dataclasses.field(default=None, repr=False, compare=False)

    def ready(self) -> None:
        _ready(self)

    @op
    def score(self, *, output: Any, target: Any) -> dict[str, Any]:
        texts = [str(output), str(target)]
        reply = _client(self).embeddings.create(model=self.model, input=texts)
        first, second = (list(item.embedding) for item in reply.data)
        similarity = _cosine(first, second)
        return {"similarity": similarity, "passed": similarity >= self.threshold}


class LLMJudge(Scorer):
    """Ask ``model`` whether the output passes: ``{"passed": bool, "reason": str}``.

    ``prompt`` is formatted with ``output``, ``row`` (the row as JSON) and the row's
    columns; the model must answer a JSON object with a boolean ``passed`` (an answer that
    is not one is a scorer error, counted, not a silent fail).
    """

    model: str = "gpt-4o-mini"
    prompt: str = JUDGE_PROMPT
    client: Any = dataclasses.field(default=None, repr=False, compare=False)

    def ready(self) -> None:
        _ready(self)

    @op
    def score(self, *, output: Any, **row: Any) -> dict[str, Any]:
        fields = {**row, "row": json.dumps(row, default=str, ensure_ascii=False), "output": output}
        content = self.prompt.format_map(fields)
        reply = _client(self).chat.completions.create(
            model=self.model,
            messages=[{"role": "user", "content": content}],
            response_format={"type": "json_object"},
        )
        text = reply.choices[0].message.content or ""
        verdict = json.loads(text)
        if not isinstance(verdict, dict) or not isinstance(verdict.get("passed"), bool):
            raise ValueError(f"the judge did not answer {{'passed': bool}}: {text[:200]!r}")
        return {"passed": verdict["passed"], "reason": str(verdict.get("reason", ""))}
