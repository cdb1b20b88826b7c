"""``wiretrace serve`` as a user runs it: an app pointed at it with the standard OpenTelemetry
variable (``OTEL_EXPORTER_OTLP_ENDPOINT`` is a base, the SDK appends ``/v1/traces``), and
``--otlp-port`` taking exports at ``/v1/traces`` on a port of its own.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import fake_upstream_url
from tests.proxy.otlp.bodies import export, new_span_id, new_trace_id, post, span
from tests.proxy.otlp.peers import run_peer
from tests.proxy.process import ServerProcess, free_port, wait_stored


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ServerProcess, int]]:
    otlp_port = free_port()
    with fake_upstream_url() as upstream:
        server = ServerProcess(upstream, tmp_path / "w.db", "--otlp-port", str(otlp_port))
        try:
            yield server, otlp_port
        finally:
            server.stop()


def trace_of(url: str, trace_id: str) -> str:
    with urllib.request.urlopen(f"{url}/api/traces/{trace_id}", timeout=10) as resp:
        text: str = resp.read().decode()
        return text


def test_the_standard_endpoint_variable_and_the_otlp_port(
    served: tuple[ServerProcess, int],
) -> None:
    server, otlp_port = served
    app = run_peer(
        "openllmetry",
        "env",
        server.url + "/v1",
        "shop",
        "hello",
        OTEL_EXPORTER_OTLP_ENDPOINT=server.url + "/otlp",
    )
    wait_stored(server.url, app["call_id"])
    wait_stored(server.url, app["root_id"])
    tree = json.loads(trace_of(server.url, app["trace_id"]))
    assert app["call_id"] in json.dumps(tree)

    trace, span_id = new_trace_id(), new_span_id()
    status, _, _ = post(
        f"http://127.0.0.1:{otlp_port}/v1/traces", export(span(trace, span_id, "on-4318"))
    )
    assert status == 200
    wait_stored(server.url, span_id)
    assert post(f"http://127.0.0.1:{otlp_port}/v1/chat/completions", b"{}")[0] == 404
