"""The app's own tracer in tests: service ``shop``, each span sent to wiretrace's OTLP route
as it ends (the real OTLP/HTTP exporter, no batch timer)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Tracer

from tests.harness import Servers


@contextmanager
def app_tracer(servers: Servers) -> Iterator[Tracer]:
    """The app's tracer: each span goes to wiretrace's OTLP route as it ends."""
    provider = TracerProvider(resource=Resource.create({"service.name": "shop"}))
    exporter = OTLPSpanExporter(endpoint=servers.proxy_url + "/otlp/v1/traces")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        yield provider.get_tracer("shop.app")
    finally:
        provider.shutdown()
