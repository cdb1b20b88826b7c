from __future__ import annotations

import re

import pytest
from wiretrace_proxy import providers
from wiretrace_proxy.providers import PROVIDERS, HostTable, Provider, parse_llm_host

TABLE = HostTable.build()


@pytest.mark.parametrize(
    ("host", "provider"),
    [
        ("api.openai.com", "openai"),
        ("us.api.openai.com", "openai"),
        ("eu.api.openai.com", "openai"),
        ("ae.api.openai.com", "openai"),
        ("au.api.openai.com", "openai"),
        ("in.api.openai.com", "openai"),
        ("jp.api.openai.com", "openai"),
        ("my-resource.openai.azure.com", "azure"),
        ("contoso.cognitiveservices.azure.com", "azure"),
        ("contoso.services.ai.azure.com", "azure"),
        ("api.groq.com", "groq"),
        ("api.together.ai", "together"),
        ("api.together.xyz", "together"),
        ("api.mistral.ai", "mistral"),
        ("codestral.mistral.ai", "mistral"),
        ("openrouter.ai", "openrouter"),
        ("api.deepseek.com", "deepseek"),
        ("generativelanguage.googleapis.com", "gemini"),
        ("api.x.ai", "xai"),
        ("api.fireworks.ai", "fireworks"),
    ],
)
def test_every_listed_host_names_its_provider(host: str, provider: str) -> None:
    assert TABLE.provider_for(host) == provider


@pytest.mark.parametrize(
    "host",
    [
        "api.openai.com.evil.example",
        "evilapi.openai.com",
        "mtls.api.openai.com",
        "xx.api.openai.com",
        "us.mtls.api.openai.com",
        "openai.com",
        "a.b.openai.azure.com",
        "openai.azure.com",
        "-bad.openai.azure.com",
        "evil.example/api.openai.com",
        "api.openai.com:443",
        "www.openrouter.ai",
        "openrouter.ai.evil.example",
        "api.groq.com.evil.example",
        "generativelanguage.googleapis.com.evil",
        "example.com",
        "",
    ],
)
def test_lookalikes_are_not_llm_hosts(host: str) -> None:
    assert TABLE.provider_for(host) is None


def test_case_and_one_trailing_dot_are_ignored() -> None:
    assert TABLE.provider_for("API.OpenAI.COM") == "openai"
    assert TABLE.provider_for("api.openai.com.") == "openai"
    assert TABLE.provider_for("My-Resource.OpenAI.Azure.Com.") == "azure"
    assert TABLE.provider_for("api.openai.com..") is None


def test_public_surface() -> None:
    assert sorted(providers.__all__) == [
        "CUSTOM",
        "HostTable",
        "PROVIDERS",
        "Provider",
        "glob_regex",
        "parse_llm_host",
    ]


def test_every_pattern_is_anchored_and_compiles() -> None:
    names = [provider.name for provider in PROVIDERS]
    assert len(names) == len(set(names))
    for provider in PROVIDERS:
        for pattern in provider.host_patterns:
            compiled = re.compile(pattern, re.IGNORECASE)
            assert not compiled.fullmatch("")
            assert not pattern.startswith("^") and not pattern.endswith("$")


def test_a_table_of_given_providers_matches_only_those() -> None:
    table = HostTable([Provider("local", (r"llm\.test",))])
    assert table.provider_for("llm.test") == "local"
    assert table.provider_for("api.openai.com") is None
    assert HostTable([]).provider_for("") is None


def test_extra_globs_are_custom_providers() -> None:
    table = HostTable.build(["*.corp.example", "LLM.Other.Example."])
    assert table.provider_for("llm.corp.example") == "custom"
    assert table.provider_for("a.b.corp.example") == "custom"
    assert table.provider_for("corp.example") is None
    assert table.provider_for("corp.example.evil.test") is None
    assert table.provider_for("evilcorp.example") is None
    assert table.provider_for("llm.other.example") == "custom"
    assert table.provider_for("x.llm.other.example") is None
    assert table.provider_for("api.openai.com") == "openai"  # built-ins keep their names


def test_a_built_in_host_listed_again_keeps_its_provider() -> None:
    assert HostTable.build(["api.openai.com"]).provider_for("api.openai.com") == "openai"


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("llm.corp.example", "llm.corp.example"),
        ("*.corp.example", "*.corp.example"),
        ("  LLM.Corp.Example.  ", "llm.corp.example"),
        ("10.0.0.5", "10.0.0.5"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("localhost", "localhost"),
    ],
)
def test_parse_llm_host_accepts_hosts_and_leading_wildcards(value: str, parsed: str) -> None:
    assert parse_llm_host(value) == parsed


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("https://llm.corp.example", "without scheme"),
        ("llm.corp.example/v1", "without scheme or path"),
        ("llm.corp.example:8443", "port"),
        ("*", "too broad"),
        ("*.example", "too broad"),
        ("*.*.corp.example", "first label"),
        ("llm.*.example", "first label"),
        ("llm-*.corp.example", "first label"),
        ("**.corp.example", "first label"),
        ("-llm.corp.example", "invalid label"),
        ("llm..corp.example", "invalid label"),
        ("llm_x.corp.example", "invalid label"),
        ("bücher.example", "IDNA"),
        ("a" * 64 + ".example", "invalid label"),
        (".".join(["a" * 60] * 5), "longer than 253"),
    ],
)
def test_parse_llm_host_refuses_with_one_line_reason(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)) as refused:
        parse_llm_host(value)
    assert "\n" not in str(refused.value)


def test_build_refuses_a_bad_extra_pattern() -> None:
    with pytest.raises(ValueError, match="port"):
        HostTable.build(["llm.corp.example:443"])
