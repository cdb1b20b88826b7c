"""Which hosts are LLM APIs, and whose: the provider table and its compiled host matcher.

A host is an LLM API host only when it fully matches one of the table's patterns (case is
ignored, one trailing dot is allowed, no port). Everything else, including lookalikes
(``api.openai.com.evil.example``) and client-certificate hosts such as
``mtls.api.openai.com``, is not: a caller that decrypts only LLM traffic leaves those alone.
Users add their own hosts as globs (``--llm-host '*.corp.example'``), checked by
``parse_llm_host`` and recorded under the provider name ``custom``.

Pure and dependency-free: the request path, the recorder and the intercept mode import it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CUSTOM", "PROVIDERS", "HostTable", "Provider", "glob_regex", "parse_llm_host"]

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
"""One DNS label (a resource name in ``<resource>.openai.azure.com``)."""

CUSTOM = "custom"
"""The provider name of a host matched by a user's ``--llm-host`` pattern."""


@dataclass(frozen=True, slots=True)
class Provider:
    """An LLM API provider and the hosts it answers on (anchored regular expressions)."""

    name: str
    host_patterns: tuple[str, ...]


PROVIDERS: tuple[Provider, ...] = (
    # The data-residency hosts are the openai SDK's (``data_residency=``); ``mtls.`` and any
    # other prefix stay out.
    Provider("openai", (r"api\.openai\.com", r"(?:us|eu|ae|au|in|jp)\.api\.openai\.com")),
    Provider(
        "azure",
        (
            rf"{_LABEL}\.openai\.azure\.com",
            rf"{_LABEL}\.cognitiveservices\.azure\.com",
            rf"{_LABEL}\.services\.ai\.azure\.com",
        ),
    ),
    Provider("groq", (r"api\.groq\.com",)),
    Provider("together", (r"api\.together\.ai", r"api\.together\.xyz")),
    Provider("mistral", (r"api\.mistral\.ai", r"codestral\.mistral\.ai")),
    Provider("openrouter", (r"openrouter\.ai",)),
    Provider("deepseek", (r"api\.deepseek\.com",)),
    Provider("gemini", (r"generativelanguage\.googleapis\.com",)),
    Provider("xai", (r"api\.x\.ai",)),
    Provider("fireworks", (r"api\.fireworks\.ai",)),
)


class HostTable:
    """The providers' patterns (and a user's extra ones) compiled into one expression.

    Build it once (``HostTable.build``); ``provider_for`` is then one full match."""

    __slots__ = ("_names", "_regex")

    def __init__(self, providers: Sequence[Provider]) -> None:
        alternatives: list[str] = []
        self._names: dict[str, str] = {}
        for index, provider in enumerate(providers):
            group = f"p{index}"
            self._names[group] = provider.name
            joined = "|".join(f"(?:{pattern})" for pattern in provider.host_patterns)
            alternatives.append(f"(?P<{group}>{joined})")
        # No alternative at all matches nothing (an empty pattern would match "").
        self._regex = re.compile("|".join(alternatives) or r"(?!)", re.IGNORECASE)

    @classmethod
    def build(cls, extra: Sequence[str] = ()) -> HostTable:
        """The built-in table, then ``extra`` user globs (validated by ``parse_llm_host``)."""
        providers = list(PROVIDERS)
        if extra:
            globs = tuple(glob_regex(parse_llm_host(value)) for value in extra)
            providers.append(Provider(CUSTOM, globs))
        return cls(providers)

    def provider_for(self, host: str) -> str | None:
        """The provider answering on ``host`` (a host name, no port), or None: not an LLM
        host."""
        if host.endswith("."):
            host = host[:-1]
        match = self._regex.fullmatch(host)
        if match is None or match.lastgroup is None:
            return None
        return self._names[match.lastgroup]


_MAX_HOST = 253


def parse_llm_host(value: str) -> str:
    """A user's LLM host pattern, lower-cased: ``llm.corp.example`` (that host) or
    ``*.corp.example`` (any host one or more labels under ``corp.example``).

    Raises ValueError with a one-line reason for anything else (a URL, a port, a path, a
    ``*`` anywhere but the whole first label, a wildcard over a top-level domain)."""
    text = value.strip().lower()
    if text.endswith("."):
        text = text[:-1]
    if not text:
        raise ValueError("an LLM host pattern must not be empty")
    if "://" in text or "/" in text:
        raise ValueError(f"{value!r} is not a host: give a host name only, without scheme or path")
    if ":" in text:
        raise ValueError(f"{value!r} has a port: give the host name only")
    if not text.isascii():
        raise ValueError(f"{value!r} is not ASCII: give the IDNA form (xn--...)")
    if len(text) > _MAX_HOST:
        raise ValueError(f"{value!r} is longer than {_MAX_HOST} characters")
    labels = text.split(".")
    wildcard = labels[0] == "*"
    fixed = labels[1:] if wildcard else labels
    if wildcard and len(fixed) < 2:
        raise ValueError(f"{value!r} is too broad: a wildcard needs at least two labels after it")
    for label in fixed:
        if label == "*" or "*" in label:
            raise ValueError(
                f"{value!r}: '*' is allowed only as the whole first label (*.corp.example)"
            )
        if not re.fullmatch(_LABEL, label):
            raise ValueError(f"{value!r} has an invalid label {label!r}")
    return text


def glob_regex(glob: str) -> str:
    """The anchored expression of a validated glob (``*.`` = one or more labels)."""
    if glob.startswith("*."):
        return rf"(?:{_LABEL}\.)+{re.escape(glob[2:])}"
    return re.escape(glob)
