"""Ready-made scorers: text matching, JSON checks, embeddings and an LLM judge.

Each is a ``wiretrace.Scorer`` whose ``score`` takes ``output`` and, where it compares,
``target``; ``column_map={"target": "<column>"}`` points it at another column. The optional
libraries are imported when a scorer first runs (``pip install 'wiretrace[evals]'``):
``jsonschema`` for ``JSONSchema``, ``rapidfuzz`` for ``StringSimilarity``, ``openai`` for
``EmbeddingSimilarity`` and ``LLMJudge``, which call the model through an OpenAI client
(yours, or ``openai.OpenAI()``), so their calls go through the proxy and are recorded and
priced like the app's.
"""

from __future__ import annotations

from ._json import JSONSchema, ValidJSON
from ._llm import EmbeddingSimilarity, LLMJudge
from ._text import Contains, ExactMatch, Regex, StringSimilarity

__all__ = [
    "Contains",
    "EmbeddingSimilarity",
    "ExactMatch",
    "JSONSchema",
    "LLMJudge",
    "Regex",
    "StringSimilarity",
    "ValidJSON",
]
