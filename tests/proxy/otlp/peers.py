"""Real OpenTelemetry instrumentations of ``openai`` as test peers, exporting to wiretrace.

Each peer instruments the real ``openai`` client with its own ``TracerProvider`` and
exports every span as it ends with the real OTLP/HTTP exporter (``SimpleSpanProcessor``:
nothing waits on a batch timer). Run as a script (``run_peer``), one process per app: an
uninstrumented OpenLLMetry 0.62 leaves its wrapper on ``Completions.create``, which would
parent the next peer's spans in the same process.

``python -m tests.proxy.otlp.peers PEER OTLP_ENDPOINT OPENAI_BASE_URL SERVICE TEXT`` makes
one chat call inside an app span ``handle_request`` and prints what the app saw as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import openai
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Tracer

PEERS = ("openai-v2", "openinference", "openllmetry")

_ENV = {
    # openai-v2: the current GenAI conventions, content on the span (its README).
    "openai-v2": {
        "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "span_only",
    },
    "openinference": {},
    "openllmetry": {"TRACELOOP_TRACE_CONTENT": "true"},
}


@dataclass
class Peer:
    name: str
    tracer: Tracer
    provider: TracerProvider


def _instrumentor(name: str) -> Any:
    if name == "openai-v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        return OpenAIInstrumentor()  # type: ignore[no-untyped-call]
    if name == "openinference":
        from openinference.instrumentation.openai import OpenAIInstrumentor as OpenInference

        return OpenInference()
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor as OpenLLMetry

    return OpenLLMetry()


@contextmanager
def instrumented(name: str, endpoint: str, service: str = "shop") -> Iterator[Peer]:
    """``openai`` instrumented by peer ``name``, spans exported to ``endpoint``."""
    saved = {key: os.environ.get(key) for key in _ENV[name]}
    os.environ.update(_ENV[name])
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    # "env": the exporter reads OTEL_EXPORTER_OTLP_ENDPOINT and appends /v1/traces itself.
    exporter = OTLPSpanExporter() if endpoint == "env" else OTLPSpanExporter(endpoint=endpoint)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with warnings.catch_warnings():  # OpenLLMetry's pydantic models use v1's class config
        warnings.simplefilter("ignore", DeprecationWarning)
        instrumentor = _instrumentor(name)
        instrumentor.instrument(tracer_provider=provider)
    try:
        yield Peer(name, provider.get_tracer("shop.app"), provider)
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def main(argv: list[str]) -> None:
    name, endpoint, base_url, service, text = argv
    with instrumented(name, endpoint, service) as peer:
        client = openai.OpenAI(base_url=base_url, api_key="sk-test-1234567890abcdef")
        with peer.tracer.start_as_current_span("handle_request") as root:
            raw = client.chat.completions.with_raw_response.create(
                model="gpt-4o-mini",
                messages=[
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": text},
                ],
            )
        client.close()
    answer = raw.parse()
    context = root.get_span_context()
    usage = answer.usage
    print(
        json.dumps(
            {
                "trace_id": format(context.trace_id, "032x"),
                "root_id": format(context.span_id, "016x"),
                "call_id": raw.headers.get("wiretrace-call-id"),
                "response_id": answer.id,
                "prompt_tokens": usage.prompt_tokens if usage else None,
                "completion_tokens": usage.completion_tokens if usage else None,
                "content": answer.choices[0].message.content,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])


def run_peer(
    name: str, endpoint: str, base_url: str, service: str, text: str, **env: str
) -> dict[str, Any]:
    """Run ``main`` in a fresh interpreter (``env`` added to its environment); what the app
    saw."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.proxy.otlp.peers", name, endpoint, base_url, service, text],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "ignore", **env},
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
