from __future__ import annotations

import pytest
from wiretrace_proxy.endpoints import (
    GENERIC_OP,
    Endpoint,
    azure_deployment,
    op_name_for,
    openai_path,
)


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


@pytest.mark.parametrize(
    ("path", "openai"),
    [
        ("/v1/chat/completions", "/v1/chat/completions"),
        ("/openai/deployments/gpt-4o-prod/chat/completions", "/v1/chat/completions"),
        ("/openai/deployments/gpt-4o-prod/completions", "/v1/completions"),
        ("/openai/deployments/emb/embeddings", "/v1/embeddings"),
        ("/openai/deployments/whisper/audio/transcriptions", "/v1/audio/transcriptions"),
        ("/openai/v1/chat/completions", "/v1/chat/completions"),
        ("/openai/v1/responses", "/v1/responses"),
        ("/openai/files", "/v1/files"),
        ("/api/v1/chat/completions", "/v1/chat/completions"),
        ("/api/v1/models", "/v1/models"),
        ("/v1beta/openai/chat/completions", "/v1/chat/completions"),
        ("/v1beta/openai/embeddings", "/v1/embeddings"),
        # Not a provider form: left as it is.
        ("/chat/completions", "/chat/completions"),
        ("/openaiv1/chat/completions", "/openaiv1/chat/completions"),
        ("/api/calls", "/api/calls"),
        ("/v1beta/models/gemini:generateContent", "/v1beta/models/gemini:generateContent"),
        ("/openai/deployments/only-a-name", "/v1/deployments/only-a-name"),
    ],
)
def test_provider_paths_in_openai_form(path: str, openai: str) -> None:
    assert openai_path(path) == openai


@pytest.mark.parametrize(
    ("path", "deployment"),
    [
        ("/openai/deployments/gpt-4o-prod/chat/completions", "gpt-4o-prod"),
        ("/openai/deployments/emb.v2/embeddings", "emb.v2"),
        ("/openai/deployments//chat/completions", None),
        ("/openai/deployments/only-a-name", None),
        ("/openai/v1/chat/completions", None),
        ("/v1/chat/completions", None),
        ("/api/v1/deployments/x/chat/completions", None),
    ],
)
def test_azure_deployment_names(path: str, deployment: str | None) -> None:
    assert azure_deployment(path) == deployment


@pytest.mark.parametrize(
    ("method", "path", "name", "endpoint"),
    [
        (
            "POST",
            "/openai/deployments/prod/chat/completions",
            "openai.chat.completions.create",
            Endpoint.CHAT,
        ),
        (
            "POST",
            "/openai/deployments/prod/completions",
            "openai.completions.create",
            Endpoint.COMPLETIONS,
        ),
        (
            "POST",
            "/openai/deployments/prod/embeddings",
            "openai.embeddings.create",
            Endpoint.EMBEDDINGS,
        ),
        ("POST", "/openai/v1/chat/completions", "openai.chat.completions.create", Endpoint.CHAT),
        ("POST", "/openai/v1/responses", "openai.responses.create", Endpoint.RESPONSES),
        ("GET", "/openai/v1/models", "openai.models.list", Endpoint.OTHER),
        ("GET", "/openai/v1/responses/resp_1", "openai.responses.retrieve", Endpoint.OTHER),
        ("POST", "/api/v1/chat/completions", "openai.chat.completions.create", Endpoint.CHAT),
        ("POST", "/api/v1/embeddings", "openai.embeddings.create", Endpoint.EMBEDDINGS),
        ("GET", "/api/v1/models", "openai.models.list", Endpoint.OTHER),
        (
            "POST",
            "/v1beta/openai/chat/completions",
            "openai.chat.completions.create",
            Endpoint.CHAT,
        ),
        ("POST", "/v1beta/openai/embeddings", "openai.embeddings.create", Endpoint.EMBEDDINGS),
        ("POST", "/openai/files", "openai.files.create", Endpoint.OTHER),
        ("POST", "/openai/responses", "openai.responses.create", Endpoint.RESPONSES),
        ("POST", "/openai/deployments/prod/unknown", GENERIC_OP, Endpoint.OTHER),
    ],
)
def test_provider_paths_have_openai_op_names_and_kinds(
    method: str, path: str, name: str, endpoint: Endpoint
) -> None:
    query = "?api-version=2024-10-21" if path.startswith("/openai/deployments/") else ""
    assert op_name_for(method, path + query) == name
    assert Endpoint.of(path + query) is endpoint
