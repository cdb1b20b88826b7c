from __future__ import annotations

import pytest
from wiretrace_proxy.endpoints import GENERIC_OP, op_name_for


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("POST", "/v1/chat/completions", "openai.chat.completions.create"),
        ("POST", "/v1/responses", "openai.responses.create"),
        ("GET", "/v1/responses/resp_123", "openai.responses.retrieve"),
        ("POST", "/v1/completions", "openai.completions.create"),
        ("POST", "/v1/embeddings", "openai.embeddings.create"),
        ("POST", "/v1/images/generations", "openai.images.generate"),
        ("POST", "/v1/audio/transcriptions", "openai.audio.transcriptions.create"),
        ("GET", "/v1/models", "openai.models.list"),
        ("DELETE", "/v1/files/file-1", "openai.files.delete"),
        ("POST", "/v1/not/a/real/endpoint", GENERIC_OP),
        ("GET", "/v1/chat/completions", GENERIC_OP),
    ],
)
def test_op_names(method: str, path: str, name: str) -> None:
    assert op_name_for(method, path) == name
