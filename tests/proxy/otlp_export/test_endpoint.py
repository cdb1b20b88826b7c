"""The traces URL rule and the header spelling (OTel exporter spec: ``..._ENDPOINT`` is a
base, ``..._TRACES_ENDPOINT`` is used as-is; ``..._HEADERS`` is ``k=v`` percent-encoded)."""

from __future__ import annotations

import re

import pytest
from wiretrace_proxy.cli import build_parser
from wiretrace_proxy.commands import serve
from wiretrace_proxy.commands.options import settings_from_args
from wiretrace_proxy.otlp_export.endpoint import parse_header, traces_url
from wiretrace_proxy.settings import Settings


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


def parse_serve(*args: str) -> Settings:
    return settings_from_args(build_parser().parse_args(["serve", *args]), serve.FIELDS)


def test_the_variables_set_the_export_and_the_flags_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIRETRACE_OTLP_EXPORT", "http://collector:4318")
    monkeypatch.setenv(
        "WIRETRACE_OTLP_EXPORT_HEADERS", "Authorization=Basic%20eA%3D%3D,x-team=a%2Cb"
    )
    monkeypatch.setenv("WIRETRACE_OTLP_EXPORT_OPENINFERENCE", "yes")
    monkeypatch.setenv("WIRETRACE_OTLP_EXPORT_HOLD", "2.5")
    settings = parse_serve()
    assert settings.otlp_export_hold == 2.5
    assert settings.otlp_export == "http://collector:4318/v1/traces"
    assert settings.otlp_export_headers == (("Authorization", "Basic eA=="), ("x-team", "a,b"))
    assert settings.otlp_export_openinference and settings.otlp_export_gzip
    flagged = parse_serve(
        "--otlp-export",
        "https://cloud.langfuse.com/api/public/otel",
        "--otlp-export-headers",
        "k=1",
        "--otlp-export-headers",
        "k2=2",
        "--no-otlp-export-gzip",
        "--otlp-export-hold",
        "0",
    )
    assert flagged.otlp_export_hold == 0.0
    assert flagged.otlp_export == "https://cloud.langfuse.com/api/public/otel/v1/traces"
    assert flagged.otlp_export_headers == (("k", "1"), ("k2", "2"))  # replace, not add to
    assert not flagged.otlp_export_gzip


def test_off_by_default_and_headers_never_shown_in_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("WIRETRACE_OTLP_EXPORT", raising=False)
    assert parse_serve().otlp_export is None
    monkeypatch.setenv("WIRETRACE_OTLP_EXPORT_HEADERS", "Authorization=Bearer%20s3cret")
    with pytest.raises(SystemExit):
        parse_serve("--help")
    shown = capsys.readouterr().out
    assert "--otlp-export-headers" in shown and "s3cret" not in shown


@pytest.mark.parametrize("given", ["-1", "nan", "inf", "soon"])
def test_a_bad_hold_is_refused_with_a_reason(
    given: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse_serve("--otlp-export-hold", given)
    assert "--otlp-export-hold" in capsys.readouterr().err
