"""What an OTLP/HTTP request is before its body is parsed: its media type, and the error a
body that is not a traces export gives. Apart from ``decode`` so the receiver's route can
be loaded without protobuf (``opentelemetry-proto`` is loaded by the first export)."""

from __future__ import annotations

__all__ = ["JSON_TYPE", "PROTOBUF_TYPE", "BadPayload", "WrongSignal", "media_type"]

PROTOBUF_TYPE = "application/x-protobuf"
JSON_TYPE = "application/json"


class BadPayload(ValueError):
    """A body that is not an OTLP traces export; the message says why (a 400)."""


class WrongSignal(BadPayload):
    """A logs or metrics export sent to the traces endpoint."""


def media_type(content_type: str) -> str | None:
    """``PROTOBUF_TYPE``, ``JSON_TYPE`` or None for a ``Content-Type`` header value."""
    essence = content_type.split(";", 1)[0].strip().lower()
    if essence in (PROTOBUF_TYPE, "application/protobuf", "application/vnd.google.protobuf"):
        return PROTOBUF_TYPE
    if essence == JSON_TYPE or essence.endswith("+json"):
        return JSON_TYPE
    return None
