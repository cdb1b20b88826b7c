"""OTLP export: every stored call and SDK span, sent as OTLP/HTTP protobuf to a backend
(an OpenTelemetry collector, Jaeger, Tempo, Phoenix, Langfuse...), off the request path.

``endpoint`` (the URL rule, the headers), ``encode`` (records as spans: ``genai``,
``messages``, ``openinference``), ``sender`` (one export with the OTLP retry rules),
``exporter`` (the bounded queue and its thread), ``service`` (built from settings, started
and stopped with the server). Nothing is imported here, so reading the settings (which
use ``endpoint``) does not load protobuf.
"""
