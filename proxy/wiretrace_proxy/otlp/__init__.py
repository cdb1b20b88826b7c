"""OTLP/HTTP trace ingest: decode an export request, map its spans to call records, and
fold an instrumented LLM span into the proxied call of the same request.

The pieces, in the order a request meets them: ``body`` (size cap and gzip), ``decode``
(protobuf or OTLP/JSON into ``opentelemetry.proto`` messages), ``spans`` (a decoded span
as plain values), ``kinds`` and ``conventions`` (what the GenAI, OpenInference and
OpenLLMetry attributes say), ``messages`` (their prompts and completions as chat
messages), ``mapping`` (one span to one ``CallRecord``) and ``merge`` (which values win
when a span and a proxied call are one call). The HTTP side is ``api/otlp.py``; the
database side of the merge is ``storage/llm_merge.py``.
"""

SOURCE_KEY = "wiretrace.source"
"""Attribute every ingested record carries, with the value ``SOURCE``: the OTLP exporter
skips such records, so spans an app sent in are never exported back."""
SOURCE = "otlp"
SPAN_KEY = "otel"
"""Attribute holding what the span itself said (kind, attributes, events, links, resource,
scope, status); on a merged call it also names the span's id."""
