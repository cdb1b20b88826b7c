"""Which OpenAI operation a request path is (``op_name``), and what kind of body it has."""

from __future__ import annotations

import re

_EXACT: dict[tuple[str, str], str] = {
    ("POST", "/v1/chat/completions"): "openai.chat.completions.create",
    ("POST", "/v1/responses"): "openai.responses.create",
    ("POST", "/v1/completions"): "openai.completions.create",
    ("POST", "/v1/embeddings"): "openai.embeddings.create",
    ("POST", "/v1/moderations"): "openai.moderations.create",
    ("POST", "/v1/images/generations"): "openai.images.generate",
    ("POST", "/v1/images/edits"): "openai.images.edit",
    ("POST", "/v1/images/variations"): "openai.images.create_variation",
    ("POST", "/v1/audio/transcriptions"): "openai.audio.transcriptions.create",
    ("POST", "/v1/audio/translations"): "openai.audio.translations.create",
    ("POST", "/v1/audio/speech"): "openai.audio.speech.create",
    ("POST", "/v1/files"): "openai.files.create",
    ("GET", "/v1/files"): "openai.files.list",
    ("GET", "/v1/models"): "openai.models.list",
    ("POST", "/v1/batches"): "openai.batches.create",
    ("POST", "/v1/fine_tuning/jobs"): "openai.fine_tuning.jobs.create",
    ("POST", "/v1/assistants"): "openai.beta.assistants.create",
    ("POST", "/v1/threads"): "openai.beta.threads.create",
}

_PATTERNS: list[tuple[str, re.Pattern[str], str]] = [
    ("GET", re.compile(r"^/v1/responses/[^/]+$"), "openai.responses.retrieve"),
    ("DELETE", re.compile(r"^/v1/responses/[^/]+$"), "openai.responses.delete"),
    ("GET", re.compile(r"^/v1/chat/completions/[^/]+$"), "openai.chat.completions.retrieve"),
    ("GET", re.compile(r"^/v1/models/[^/]+$"), "openai.models.retrieve"),
    ("GET", re.compile(r"^/v1/files/[^/]+$"), "openai.files.retrieve"),
    ("GET", re.compile(r"^/v1/files/[^/]+/content$"), "openai.files.content"),
    ("DELETE", re.compile(r"^/v1/files/[^/]+$"), "openai.files.delete"),
    ("POST", re.compile(r"^/v1/threads/[^/]+/runs$"), "openai.beta.threads.runs.create"),
    ("POST", re.compile(r"^/v1/threads/[^/]+/messages$"), "openai.beta.threads.messages.create"),
]

GENERIC_OP = "openai.request"
"""``op_name`` of any path not listed above; ``display_name`` then says ``METHOD /path``."""

LLM_PATHS = frozenset({"/v1/chat/completions", "/v1/responses", "/v1/completions"})
"""Endpoints whose usage can be estimated from text when the upstream gives none."""


def op_name_for(method: str, path: str) -> str:
    method = method.upper()
    path = path.rstrip("/") or path
    name = _EXACT.get((method, path))
    if name is not None:
        return name
    for want, pattern, candidate in _PATTERNS:
        if want == method and pattern.match(path):
            return candidate
    return GENERIC_OP
