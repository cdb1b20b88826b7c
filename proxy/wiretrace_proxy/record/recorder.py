"""Capture -> CallRecord: parse, reassemble, count, redact. Runs on the writer's thread.

Everything slow or fallible about recording lives here, off the request path: JSON parsing,
stream reassembly, token estimates, secret masking. A capture always yields a record: a body
that does not parse is kept raw with the reason, never dropped.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import platformdirs

from wiretrace_proxy.callrecord import JSON, CallRecord, JSONObject, Status, Usage, UsageSource
from wiretrace_proxy.endpoints import GENERIC_OP, LLM_PATHS, op_name_for
from wiretrace_proxy.forward.capture import Capture
from wiretrace_proxy.record.bodies import decode_content, parse_body_verbatim, summarise_embeddings
from wiretrace_proxy.record.pricing import Pricer
from wiretrace_proxy.record.prompts import prompt_digest
from wiretrace_proxy.record.reassemble import Reassembled, reassemble_stream
from wiretrace_proxy.record.redact import (
    api_key_from_headers,
    fingerprint_key,
    redact_headers,
    redact_json,
    redact_parsed,
)
from wiretrace_proxy.record.usage import Tokenizers, estimate_usage, normalise_usage
from wiretrace_proxy.settings import Settings
from wiretrace_proxy.tracecontext import new_trace_id, parse_traceparent


@dataclass(slots=True)
class _Response:
    output: JSON
    usage: Usage | None
    model: str | None
    error: JSONObject | None
    stream: bool
    complete: bool
    source: bytes | None = None
    """The bytes ``output`` was parsed from verbatim (see ``bodies.parse_body_verbatim``)."""

    def redacted_output(self) -> JSON:
        if self.source is not None:
            return redact_parsed(self.output, self.source)
        return redact_json(self.output)


class Recorder:
    """Builds records from captures with the server's settings (project, salt, options)."""

    def __init__(
        self,
        settings: Settings,
        key_salt: str,
        tokenizers: Tokenizers | None = None,
        pricer: Pricer | None = None,
    ):
        self.settings = settings
        self.key_salt = key_salt
        self.tokenizers = tokenizers
        self.pricer = pricer
        """Prices each record (``cost_usd``); None leaves cost unset (``wiretrace reprice``
        can fill it in later)."""

    def __call__(self, capture: Capture) -> CallRecord:
        return self.build(capture)

    def build(self, capture: Capture) -> CallRecord:
        request_type = _header(capture.request_headers, "content-type")
        raw_inputs = bytes(capture.request_body)
        inputs, verbatim = parse_body_verbatim(
            raw_inputs,
            request_type,
            size=capture.request_size,
            truncated=capture.request_truncated,
        )
        response = self._response(capture)
        usage, usage_source, estimate_method = self._usage(capture, inputs, response)
        status, error = _status(capture, response)
        record = self._assemble(
            capture, inputs, response, status, error, usage, usage_source, estimate_method
        )
        record.inputs = redact_parsed(inputs, raw_inputs) if verbatim else redact_json(inputs)
        record.output = response.redacted_output()
        # Digested from the stored (redacted) body, as ``/api/prompts`` re-derives it.
        record.prompt_digest = prompt_digest(capture.path, record.inputs)
        if self.pricer is not None:
            record.cost_usd = self.pricer.price_call(
                record.model,
                record.response_model,
                usage,
                at=record.started_at,
                output=record.output,
                upstream=self.settings.upstream,
            ).cost_usd
        return record

    def _assemble(
        self,
        capture: Capture,
        inputs: JSON,
        response: _Response,
        status: Status,
        error: JSONObject | None,
        usage: Usage | None,
        usage_source: UsageSource | None,
        estimate_method: str | None,
    ) -> CallRecord:
        meta = capture.meta
        parent = parse_traceparent(meta.traceparent)
        trace_id, parent_id = parent if parent else (new_trace_id(), None)
        op_name = op_name_for(capture.method, capture.path)
        display = meta.name or (
            f"{capture.method} {capture.path}" if op_name == GENERIC_OP else None
        )
        requested = inputs.get("model") if isinstance(inputs, dict) else None
        latency = _ms(capture.t0, capture.t_end)
        key = api_key_from_headers(capture.request_headers)
        attributes: JSONObject = {
            "session_id": meta.session_id,
            "user_id": meta.user_id,
            "properties": dict(meta.properties),
            "stream": response.stream,
            "usage_injected": capture.usage_injected,
            "request": _request_meta(capture),
            "response": _response_meta(capture),
        }
        if estimate_method is not None:
            attributes["usage_estimate"] = estimate_method
        if meta.session_path:
            attributes["session_path"] = meta.session_path
        if meta.tracestate:
            attributes["tracestate"] = meta.tracestate
        return CallRecord(
            id=capture.call_id,
            project=meta.project or self.settings.project,
            trace_id=trace_id,
            parent_id=parent_id,
            op_name=op_name,
            display_name=display,
            started_at=datetime.fromtimestamp(capture.started_wall, UTC),
            ended_at=datetime.fromtimestamp(capture.started_wall + (latency or 0) / 1000, UTC),
            latency_ms=latency,
            ttft_ms=_ms(capture.t0, capture.t_first_chunk) if response.stream else None,
            overhead_ms=max(0.0, latency - capture.upstream_wait * 1000) if latency else None,
            status=status,
            http_status=capture.status,
            model=requested if isinstance(requested, str) else response.model,
            response_model=response.model,
            inputs=None,  # set by ``build``, redacted
            output=None,
            usage=usage,
            usage_source=usage_source,
            cost_usd=None,
            error=error,
            session_id=meta.session_id,
            user_id=meta.user_id,
            key_fingerprint=fingerprint_key(key, self.key_salt) if key else None,
            attributes=attributes,
        )

    def _response(self, capture: Capture) -> _Response:
        content_type = _header(capture.response_headers, "content-type")
        encoding = _header(capture.response_headers, "content-encoding")
        body = capture.body
        if encoding:
            decoded = decode_content(body, encoding)
            if decoded is None:
                note: JSONObject = {"content_encoding": encoding, "bytes": capture.response_size}
                note["raw"] = None
                return _Response(note, None, None, None, False, False)
            body = decoded
        if content_type.lower().startswith("text/event-stream"):
            return _from_stream(reassemble_stream(capture.path, [body]))
        output, verbatim = parse_body_verbatim(
            body, content_type, size=capture.response_size, truncated=capture.response_truncated
        )
        if capture.path.rstrip("/") == "/v1/embeddings" and not self.settings.keep_embeddings:
            output = summarise_embeddings(output)  # a part of the value: still verbatim
        usage = normalise_usage(output.get("usage")) if isinstance(output, dict) else None
        model = output.get("model") if isinstance(output, dict) else None
        model = model if isinstance(model, str) else None
        return _Response(output, usage, model, None, False, True, body if verbatim else None)

    def _usage(
        self, capture: Capture, inputs: JSON, response: _Response
    ) -> tuple[Usage | None, UsageSource | None, str | None]:
        if response.usage is not None:
            return response.usage, "injected" if capture.usage_injected else "upstream", None
        path = capture.path.rstrip("/")
        if path not in LLM_PATHS or capture.method != "POST":
            return None, None, None
        if capture.status is not None and capture.status >= 400 and not response.stream:
            return None, None, None
        model = inputs.get("model") if isinstance(inputs, dict) else None
        estimate = estimate_usage(
            model if isinstance(model, str) else None, inputs, response.output, self.tokenizers
        )
        return estimate.usage, "estimated", estimate.method


def _from_stream(result: Reassembled) -> _Response:
    return _Response(result.output, result.usage, result.model, result.error, True, result.complete)


def _status(capture: Capture, response: _Response) -> tuple[Status, JSONObject | None]:
    if capture.outcome in ("error", "cancelled"):
        return capture.outcome, {
            "message": capture.error_message,
            "type": capture.error_type,
            "code": None,
        }
    if response.error is not None:
        return "error", _error_fields(response.error)
    if capture.status is not None and capture.status >= 400:
        output = response.output
        detail = output.get("error") if isinstance(output, dict) else None
        if isinstance(detail, dict):
            return "error", _error_fields(detail)
        return "error", {"message": f"HTTP {capture.status}", "type": "http_error", "code": None}
    return "ok", None


def _error_fields(error: JSONObject) -> JSONObject:
    inner = error.get("error")
    source = inner if isinstance(inner, dict) else error
    return {
        "message": source.get("message"),
        "type": source.get("type"),
        "code": source.get("code"),
    }


def _header(headers: list[tuple[str, str]], name: str) -> str:
    for key, value in headers:
        if key.lower() == name:
            return value
    return ""


def _ms(start: float, end: float | None) -> float | None:
    return None if end is None else round((end - start) * 1000, 3)


def _request_meta(capture: Capture) -> JSONObject:
    headers: dict[str, JSON] = dict(redact_headers(capture.request_headers))
    return {
        "method": capture.method,
        "path": capture.path,
        "query": capture.query or None,
        "headers": headers,
        "bytes": capture.request_size,
        "truncated": capture.request_truncated,
    }


def _response_meta(capture: Capture) -> JSONObject:
    headers: dict[str, JSON] = dict(redact_headers(capture.response_headers))
    return {
        "headers": headers,
        "bytes": capture.response_size,
        "truncated": capture.response_truncated,
    }


def load_key_salt(settings: Settings) -> str:
    """The fingerprint salt: configured, else a random one kept beside the SQLite file
    (or in the user's data directory for a server database), so fingerprints stay stable
    across restarts."""
    if settings.key_salt:
        return settings.key_salt
    url = settings.database_url
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///") + ".salt")
    else:
        path = Path(platformdirs.user_data_dir("wiretrace", appauthor=False)) / "key.salt"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        salt = secrets.token_hex(16)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(salt)
        path.chmod(0o600)
        return salt
