"""Each record names the provider and the host its call went to (``record/upstream.py``)."""

from __future__ import annotations

import dataclasses

import pytest
from wiretrace_proxy.providers import HostTable
from wiretrace_proxy.record.recorder import Recorder
from wiretrace_proxy.record.upstream import UpstreamNames
from wiretrace_proxy.settings import Settings

from tests.factories import make_capture

NAMES = UpstreamNames(HostTable.build(["*.corp.example"]))


@pytest.mark.parametrize(
    ("upstream", "app_host", "provider", "host"),
    [
        ("https://api.openai.com", None, "openai", "api.openai.com"),
        ("https://eu.api.openai.com/", None, "openai", "eu.api.openai.com"),
        ("https://Contoso.OpenAI.Azure.com:443/base", None, "azure", "contoso.openai.azure.com"),
        ("https://user:secret@api.groq.com", None, "groq", "api.groq.com"),
        ("https://openrouter.ai", None, "openrouter", "openrouter.ai"),
        (
            "https://generativelanguage.googleapis.com",
            None,
            "gemini",
            "generativelanguage.googleapis.com",
        ),
        ("https://llm.corp.example", None, "custom", "llm.corp.example"),
        ("http://127.0.0.1:8000", None, None, "127.0.0.1"),
        ("http://[::1]:8000", None, None, "::1"),
        ("https://mtls.api.openai.com", None, None, "mtls.api.openai.com"),
        # An intercepted call routed to a local server: the provider the app addressed.
        ("http://127.0.0.1:8000", "api.groq.com:443", "groq", "127.0.0.1"),
        ("http://127.0.0.1:8000", "api.groq.com", "groq", "127.0.0.1"),
        ("https://api.openai.com", "api.groq.com", "openai", "api.openai.com"),
        ("http://127.0.0.1:8000", "example.com", None, "127.0.0.1"),
        ("", None, None, None),
        ("http://[::1", None, None, None),
    ],
)
def test_provider_and_host(
    upstream: str, app_host: str | None, provider: str | None, host: str | None
) -> None:
    assert NAMES.attributes(upstream, app_host) == {"provider": provider, "upstream_host": host}


def test_each_answer_is_a_record_of_its_own() -> None:
    first = NAMES.attributes("https://api.openai.com")
    first["provider"] = "changed"
    assert NAMES.attributes("https://api.openai.com")["provider"] == "openai"


def test_the_recorder_names_the_capture_upstream_else_the_servers() -> None:
    settings = dataclasses.replace(Settings(), upstream="https://api.openai.com")
    recorder = Recorder(settings, "salt")
    capture = make_capture(path="/openai/v1/chat/completions")
    capture.upstream = "https://api.groq.com"
    record = recorder.build(capture)
    assert record.attributes["provider"] == "groq"
    assert record.attributes["upstream_host"] == "api.groq.com"
    default = recorder.build(make_capture(n=2))
    assert default.attributes["provider"] == "openai"
    assert default.attributes["upstream_host"] == "api.openai.com"
    failed = recorder.fallback(capture, RuntimeError("boom"))
    assert failed.attributes["provider"] == "groq"


def test_the_recorder_knows_the_servers_llm_hosts() -> None:
    settings = dataclasses.replace(
        Settings(), upstream="https://llm.corp.example", llm_hosts=("*.corp.example",)
    )
    record = Recorder(settings, "salt").build(make_capture())
    assert record.attributes["provider"] == "custom"
