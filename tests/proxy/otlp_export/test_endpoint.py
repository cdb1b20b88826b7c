"""The traces URL rule and the header spelling (OTel exporter spec: ``..._ENDPOINT`` is a
base, ``..._TRACES_ENDPOINT`` is used as-is; ``..._HEADERS`` is ``k=v`` percent-encoded)."""

from __future__ import annotations

import re

import pytest
from wiretrace_proxy.otlp_export.endpoint import parse_header, traces_url


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("http://localhost:4318", "http://localhost:4318/v1/traces"),
        ("http://localhost:4318/", "http://localhost:4318/v1/traces"),
        ("http://localhost:4318/v1/traces", "http://localhost:4318/v1/traces"),
        ("http://localhost:4318/v1/traces/", "http://localhost:4318/v1/traces"),
        (
            "https://cloud.langfuse.com/api/public/otel",
            "https://cloud.langfuse.com/api/public/otel/v1/traces",
        ),
        ("http://phoenix:6006/v1/traces", "http://phoenix:6006/v1/traces"),
        ("https://weave.example/otel/v1/traces", "https://weave.example/otel/v1/traces"),
    ],
)
def test_a_base_gets_v1_traces_and_a_traces_url_is_kept(given: str, url: str) -> None:
    assert traces_url(given) == url


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("localhost:4318", "must be an http(s) URL"),
        ("grpc://localhost:4317", "must be an http(s) URL"),
        ("http://", "must be an http(s) URL"),
        ("http://h:4318/v1/traces?key=1", "must not have a query"),
        ("http://user:secret@h:4318", "must not hold credentials"),
    ],
)
def test_a_bad_url_is_refused_with_a_reason(given: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        traces_url(given)


def test_headers_are_percent_decoded() -> None:
    assert parse_header("Authorization=Basic%20cGs6c2s%3D") == ("Authorization", "Basic cGs6c2s=")
    assert parse_header(" x-project = a%2Cb ") == ("x-project", "a,b")


@pytest.mark.parametrize("given", ["novalue", "=v", "bad name=v", "k=a%0Ab"])
def test_a_bad_header_is_refused(given: str) -> None:
    with pytest.raises(ValueError):
        parse_header(given)
