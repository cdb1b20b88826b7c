"""The package surface: exactly ``__all__``, an import that loads nothing heavy, NullHandler."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
import wiretrace

HEAVY = [
    "aiohttp",
    "sqlmodel",
    "mitmproxy",
    "openai",
    "httpx2",
    "httpx",
    "wiretrace_proxy",
    "typing",
    "inspect",
    "json",
    "urllib.request",
    "asyncio",
    "concurrent.futures",
    "dataclasses",
]


def test_all_is_exactly_the_public_api() -> None:
    assert sorted(wiretrace.__all__) == [
        "Dataset",
        "Evaluation",
        "EvaluationLogger",
        "Model",
        "Scorer",
        "Span",
        "Status",
        "ThreadPoolExecutor",
        "WiretraceAPIError",
        "client",
        "current_span",
        "finish",
        "init",
        "op",
        "scorers",
        "status",
    ]
    for name in wiretrace.__all__:
        assert getattr(wiretrace, name) is not None
    with pytest.raises(AttributeError):
        _ = wiretrace.not_a_name


def test_import_is_light_and_configures_no_other_logger() -> None:
    code = (
        "import sys; before = set(sys.modules); import wiretrace, logging; "
        "print('\\n'.join(sorted(set(sys.modules) - before))); "
        "print('root handlers:', len(logging.getLogger().handlers))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "root handlers: 0"
    new = set(lines[:-1])
    assert "wiretrace._op" in new
    assert "wiretrace._client" not in new  # the client loads on first use of wiretrace.client
    assert not new & set(HEAVY), new & set(HEAVY)


def test_the_package_logger_has_only_a_null_handler() -> None:
    handlers = logging.getLogger("wiretrace").handlers
    assert handlers and all(type(h) is logging.NullHandler for h in handlers)
