"""Which endpoint a request path is: its kind (``Endpoint``) and its operation (``op_name``).

The kind is asked once per call (``Endpoint.of``, when the capture is made) and passed to
everything that depends on it: the include_usage option on the request path, and stream
reassembly, usage estimates, prompt digests and embedding summaries on the writer thread.
Paths are matched on their end, so Azure's ``/openai/deployments/<name>/chat/completions``
and provider prefixes (``/openai/v1/...``, ``/api/v1/...``) are the same kinds as ``/v1/...``.
``openai_path`` maps each provider's form to OpenAI's (``op_name_for`` names ops from it), and
``azure_deployment`` reads the deployment Azure routes a call to (the record's model when the
body names none). Pure and dependency-free: both threads import it.

The provider paths (each ``<prefix><rest>`` is ``/v1<rest>``):

=========================================  ==========================================
``/v1/...``                                OpenAI, Together, Mistral, DeepSeek, xAI, ...
``/openai/deployments/<name>/...``         Azure OpenAI (``?api-version=...``)
``/openai/v1/...``                         Azure OpenAI's v1 API, Groq
``/openai/...``                            Azure OpenAI's other resources (``/openai/files``)
``/api/v1/...``                            OpenRouter
``/v1beta/openai/...``                     Gemini's OpenAI-compatible API
=========================================  ==========================================
"""

from __future__ import annotations

import re
from enum import StrEnum


class Endpoint(StrEnum):
    """The kind of body an endpoint takes and returns."""

    CHAT = "chat"
    RESPONSES = "responses"
    COMPLETIONS = "completions"
    EMBEDDINGS = "embeddings"
    OTHER = "other"

    @classmethod
    def of(cls, path: str) -> Endpoint:
        """The kind of ``path`` (a query string and a trailing slash are ignored)."""
        path = path.partition("?")[0].rstrip("/")
        if path.endswith("/chat/completions"):
            return cls.CHAT
        if path.endswith("/responses"):
            return cls.RESPONSES
        if path.endswith("/completions"):
            return cls.COMPLETIONS
        if path.endswith("/embeddings"):
            return cls.EMBEDDINGS
        return cls.OTHER

    @property
    def generates_text(self) -> bool:
        """An LLM endpoint: usage can be estimated from the text when the upstream gives none."""
        return self in (Endpoint.CHAT, Endpoint.RESPONSES, Endpoint.COMPLETIONS)

    @property
    def takes_include_usage(self) -> bool:
        """Its streams carry usage only when asked (``stream_options.include_usage``)."""
        return self in (Endpoint.CHAT, Endpoint.COMPLETIONS)


_AZURE_DEPLOYMENTS = "/openai/deployments/"
_PREFIXES = ("/openai/v1/", "/api/v1/", "/v1beta/openai/", "/openai/")
"""Provider prefixes standing for ``/v1/``, longest first where one starts another."""


def openai_path(path: str) -> str:
    """``path`` in OpenAI's form: ``/openai/deployments/gpt4/chat/completions``,
    ``/openai/v1/chat/completions``, ``/api/v1/chat/completions`` and
    ``/v1beta/openai/chat/completions`` are all ``/v1/chat/completions``. A ``/v1/`` path and
    any path of no known form are returned as they are. A few ``startswith``, no regex: it
    is asked once per call."""
    if path.startswith("/v1/"):
        return path
    if path.startswith(_AZURE_DEPLOYMENTS):
        _, slash, rest = path[len(_AZURE_DEPLOYMENTS) :].partition("/")
        if slash:
            return "/v1/" + rest
    for prefix in _PREFIXES:
        if path.startswith(prefix):
            return "/v1/" + path[len(prefix) :]
    return path


def azure_deployment(path: str) -> str | None:
    """The deployment an Azure OpenAI path names (``/openai/deployments/<name>/...``), or
    None."""
    if not path.startswith(_AZURE_DEPLOYMENTS):
        return None
    name, slash, _ = path[len(_AZURE_DEPLOYMENTS) :].partition("/")
    return name if name and slash else None


_CREATE_OPS = {
    Endpoint.CHAT: "openai.chat.completions.create",
    Endpoint.RESPONSES: "openai.responses.create",
    Endpoint.COMPLETIONS: "openai.completions.create",
    Endpoint.EMBEDDINGS: "openai.embeddings.create",
}

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


def op_name_for(method: str, path: str) -> str:
    """The OpenAI SDK method a request corresponds to, on any provider's path form
    (``openai_path``); ``GENERIC_OP`` when none does."""
    method = method.upper()
    path = openai_path(path.partition("?")[0].rstrip("/") or path)
    name = _EXACT.get((method, path))
    if name is not None:
        return name
    for want, pattern, candidate in _PATTERNS:
        if want == method and pattern.match(path):
            return candidate
    if method == "POST":
        return _CREATE_OPS.get(Endpoint.of(path), GENERIC_OP)
    return GENERIC_OP


def create_op_endpoint(op_name: str) -> Endpoint | None:
    """The endpoint whose create call ``op_name`` is (``openai.chat.completions.create`` ->
    ``Endpoint.CHAT``), or None."""
    for endpoint, name in _CREATE_OPS.items():
        if name == op_name:
            return endpoint
    return None
