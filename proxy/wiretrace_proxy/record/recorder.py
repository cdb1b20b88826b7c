"""Capture -> CallRecord: parse, reassemble, count, redact. Runs on the writer's thread.

Everything slow or fallible about recording lives here, off the request path: JSON parsing,
stream reassembly, token estimates, secret masking. A capture always yields a record: a body
that does not parse is kept raw with the reason, never dropped.

Every value a record takes from the capture passes through ``redact`` on its way in (ids,
names, path, query, headers, properties, bodies, errors): ``build`` and ``fallback`` read
the capture's metadata only through ``_Meta.of``, so neither can store it unmasked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from wiretrace_proxy.callrecord import JSON, CallRecord, JSONObject, Status, Usage, UsageSource
from wiretrace_proxy.endpoints import GENERIC_OP, Endpoint, azure_deployment, op_name_for
from wiretrace_proxy.forward.capture import Capture
from wiretrace_proxy.providers import HostTable
from wiretrace_proxy.record.bodies import decode_content, parse_body, summarise_embeddings
from wiretrace_proxy.record.eval_tags import eval_attributes
from wiretrace_proxy.record.outcome import CLOSED_AFTER_END, closed_after_end
from wiretrace_proxy.record.pricing import Pricer
from wiretrace_proxy.record.prompts import prompt_digest
from wiretrace_proxy.record.reassemble import Reassembled, reassemble_stream
from wiretrace_proxy.record.redact import (
    api_key_from_headers,
    api_key_from_query,
    fingerprint_key,
    mask_optional,
    mask_secrets,
    redact_headers,
    redact_json,
    redact_parsed,
    redact_properties,
    redact_query,
)
from wiretrace_proxy.record.upstream import UpstreamNames
from wiretrace_proxy.record.usage import Tokenizers, estimate_usage, normalise_usage
from wiretrace_proxy.settings import Settings
from wiretrace_proxy.tracecontext import new_trace_id, parse_traceparent


@dataclass(slots=True, kw_only=True)
class _Response:
    output: JSON
    usage: Usage | None = None
    model: str | None = None
    error: JSONObject | None = None
    stream: bool = False
    complete: bool = False
    source: bytes | None = None
    """The bytes ``output`` was parsed from verbatim (see ``bodies.parse_body``)."""
    nonfinite: bool = False
    """A ``NaN``/``Infinity`` in the body was stored as its string (``jsonsafe``)."""

    def redacted_output(self) -> JSON:
        if self.source is not None:
            return redact_parsed(self.output, self.source)
        return redact_json(self.output)


@dataclass(slots=True, frozen=True)
class _Meta:
    """The capture's metadata as a record may store it: secrets masked by shape (an
    ``sk-...`` session id is masked, an ordinary one is kept as it is, so filters match)
    and properties also by name."""

    project: str | None
    session_id: str | None
    user_id: str | None
    name: str | None
    session_path: str | None
    properties: dict[str, str]
    tracestate: str | None
    path: str
    eval_run: str | None
    eval_row: str | None

    @classmethod
    def of(cls, capture: Capture) -> _Meta:
        meta = capture.meta
        return cls(
            project=mask_optional(meta.project),
            session_id=mask_optional(meta.session_id),
            user_id=mask_optional(meta.user_id),
            name=mask_optional(meta.name),
            session_path=mask_optional(meta.session_path),
            properties=redact_properties(meta.properties),
            tracestate=mask_optional(meta.tracestate),
            path=mask_secrets(capture.path),
            eval_run=mask_optional(meta.eval_run),
            eval_row=mask_optional(meta.eval_row),
        )


@dataclass(slots=True, frozen=True)
class _Identity:
    """Who a call is in the trace tree: its ids, its op and the name shown for it."""

    project: str
    trace_id: str
    parent_id: str | None
    op_name: str
    display_name: str | None


class Recorder:
    """Builds records from captures with the server's settings (project, salt, options).

    ``build`` is the normal path; ``fallback`` is what the writer stores when ``build``
    fails on a capture, so a recorder bug loses the bodies of one call, never the call.
    """

    def __init__(
        self,
        settings: Settings,
        key_salt: str,
        tokenizers: Tokenizers | None = None,
        pricer: Pricer | None = None,
        hosts: HostTable | None = None,
    ):
        self.settings = settings
        self.key_salt = key_salt
        self.tokenizers = tokenizers
        self.pricer = pricer
        """Prices each record (``cost_usd``); None leaves cost unset (``wiretrace reprice``
        can fill it in later)."""
        self.upstreams = UpstreamNames(hosts or HostTable.build(settings.llm_hosts))
        """Names each record's ``provider`` and ``upstream_host`` (``record.upstream``)."""

    def build(self, capture: Capture) -> CallRecord:
        """The call's record: bodies parsed and redacted, stream reassembled, usage, cost."""
        request_type = _header(capture.request_headers, "content-type")
        raw_inputs = _decoded_request(capture)
        request = parse_body(
            raw_inputs,
            request_type,
            size=capture.request_size,
            truncated=capture.request_truncated,
        )
        inputs = request.value
        response = self._response(capture)
        usage, usage_source, estimate_method = self._usage(capture, inputs, response)
        after_end = closed_after_end(capture, response.complete)
        status, error = _status(capture, response, after_end)
        meta = _Meta.of(capture)
        identity = self._identity(capture, meta)
        stored_inputs = (
            redact_parsed(inputs, raw_inputs) if request.verbatim else redact_json(inputs)
        )
        nonfinite: list[JSON] = ["inputs"] if request.nonfinite else []
        if response.nonfinite:
            nonfinite.append("output")
        requested = inputs.get("model") if isinstance(inputs, dict) else None
        # Azure routes by deployment, and its bodies usually name no model.
        deployment = mask_optional(azure_deployment(capture.path))
        model = requested if isinstance(requested, str) else deployment or response.model
        started = datetime.fromtimestamp(capture.started_wall, UTC)
        latency = _ms(capture.t0, capture.t_end)  # None while running: no end yet
        key = api_key_from_headers(capture.request_headers) or api_key_from_query(capture.query)
        output = response.redacted_output()
        return CallRecord(
            id=capture.call_id,
            project=identity.project,
            trace_id=identity.trace_id,
            parent_id=identity.parent_id,
            op_name=identity.op_name,
            display_name=identity.display_name,
            started_at=started,
            ended_at=None if latency is None else started + timedelta(milliseconds=latency),
            latency_ms=latency,
            ttft_ms=_ms(capture.t0, capture.t_first_chunk) if response.stream else None,
            overhead_ms=max(0.0, latency - capture.upstream_wait * 1000) if latency else None,
            status=status,
            http_status=capture.status,
            model=model,
            response_model=response.model,
            inputs=stored_inputs,
            output=output,
            usage=usage,
            usage_source=usage_source,
            cost_usd=self._cost(model, response.model, usage, started, output),
            error=_redacted_error(error),
            session_id=meta.session_id,
            user_id=meta.user_id,
            key_fingerprint=fingerprint_key(key, self.key_salt) if key else None,
            attributes=_attributes(capture, meta, response.stream, estimate_method, nonfinite)
            | ({CLOSED_AFTER_END: True} if after_end else {})
            | self._upstream(capture),
            # Digested from the stored (redacted) body, as ``/api/prompts`` re-derives it.
            prompt_digest=prompt_digest(capture.endpoint, stored_inputs),
        )

    def fallback(self, capture: Capture, error: Exception) -> CallRecord:
        """The record stored when ``build`` fails: ids, times and the failure, no bodies.

        Same identity as a built record (op name, trace, display name), so a failed build
        lands in the same op group in the UI as the calls that built.
        """
        meta = _Meta.of(capture)
        identity = self._identity(capture, meta)
        started = datetime.fromtimestamp(capture.started_wall, UTC)
        latency = _ms(capture.t0, capture.t_end)
        return CallRecord(
            id=capture.call_id,
            project=identity.project,
            trace_id=identity.trace_id,
            parent_id=identity.parent_id,
            op_name=identity.op_name,
            display_name=identity.display_name,
            started_at=started,
            ended_at=started + timedelta(milliseconds=latency) if latency is not None else None,
            latency_ms=latency,
            status="error",
            http_status=capture.status,
            error={
                "message": mask_secrets(f"{type(error).__name__}: {error}"),
                "type": "record_error",
                "code": None,
            },
            session_id=meta.session_id,
            user_id=meta.user_id,
            attributes={"record_error": True, "outcome": capture.outcome}
            | self._upstream(capture)
            | eval_attributes(meta.eval_run, meta.eval_row),
        )

    def _upstream(self, capture: Capture) -> JSONObject:
        """Which provider and host the call went to."""
        upstream = capture.upstream or self.settings.upstream_base
        return self.upstreams.attributes(upstream, capture.app_host)

    def _identity(self, capture: Capture, meta: _Meta) -> _Identity:
        parent = parse_traceparent(capture.meta.traceparent)
        trace_id, parent_id = parent if parent else (new_trace_id(), None)
        op_name = op_name_for(capture.method, capture.path)
        display = meta.name or (f"{capture.method} {meta.path}" if op_name == GENERIC_OP else None)
        return _Identity(
            meta.project or self.settings.project, trace_id, parent_id, op_name, display
        )

    def _cost(
        self,
        model: str | None,
        response_model: str | None,
        usage: Usage | None,
        at: datetime,
        output: JSON,
    ) -> float | None:
        if self.pricer is None:
            return None
        return self.pricer.price_call(
            model, response_model, usage, at=at, output=output, upstream=self.settings.upstream
        ).cost_usd

    def _response(self, capture: Capture) -> _Response:
        content_type = _header(capture.response_headers, "content-type")
        encoding = _header(capture.response_headers, "content-encoding")
        body = capture.body
        if encoding:
            decoded = decode_content(body, encoding)
            if decoded is None:
                note: JSONObject = {"content_encoding": encoding, "bytes": capture.response_size}
                note["raw"] = None
                return _Response(output=note)
            body = decoded
        if content_type.lower().startswith("text/event-stream"):
            return _from_stream(
                reassemble_stream(capture.endpoint, _stream_parts(capture, body, bool(encoding)))
            )
        parsed = parse_body(
            body, content_type, size=capture.response_size, truncated=capture.response_truncated
        )
        output = parsed.value
        if capture.endpoint is Endpoint.EMBEDDINGS and not self.settings.keep_embeddings:
            output = summarise_embeddings(output)  # a part of the value: still verbatim
        usage = normalise_usage(output.get("usage")) if isinstance(output, dict) else None
        model = output.get("model") if isinstance(output, dict) else None
        return _Response(
            output=output,
            usage=usage,
            model=model if isinstance(model, str) else None,
            complete=True,
            source=body if parsed.verbatim else None,
            nonfinite=parsed.nonfinite,
        )

    def _usage(
        self, capture: Capture, inputs: JSON, response: _Response
    ) -> tuple[Usage | None, UsageSource | None, str | None]:
        if response.usage is not None:
            return response.usage, "injected" if capture.usage_injected else "upstream", None
        if not capture.endpoint.generates_text or capture.method != "POST":
            return None, None, None
        if capture.outcome == "running":  # the final record has the usage: no tokenizer now
            return None, None, None
        if capture.status is not None and capture.status >= 400 and not response.stream:
            return None, None, None
        model = inputs.get("model") if isinstance(inputs, dict) else None
        estimate = estimate_usage(
            model if isinstance(model, str) else None, inputs, response.output, self.tokenizers
        )
        return estimate.usage, "estimated", estimate.method


def _attributes(
    capture: Capture,
    meta: _Meta,
    stream: bool,
    estimate_method: str | None,
    nonfinite: list[JSON],
) -> JSONObject:
    attributes: JSONObject = {
        "session_id": meta.session_id,
        "user_id": meta.user_id,
        "properties": dict(meta.properties),
        "stream": stream,
        "usage_injected": capture.usage_injected,
        "request": _request_meta(capture, meta),
        "response": _response_meta(capture),
    }
    if meta.project is None:  # the server's default: an OTLP span may name the app's own
        attributes["project_defaulted"] = True
    if estimate_method is not None:
        attributes["usage_estimate"] = estimate_method
    if meta.session_path:
        attributes["session_path"] = meta.session_path
    if meta.tracestate:
        attributes["tracestate"] = meta.tracestate
    if nonfinite:  # which bodies had NaN/Infinity, now stored as strings
        attributes["nonfinite"] = nonfinite
    if capture.headers_not_utf8:  # header values read as Latin-1, not UTF-8
        attributes["headers_not_utf8"] = list(capture.headers_not_utf8)
    if capture.app_host:  # intercept mode: the LLM host the app addressed (host[:port])
        attributes["app_host"] = capture.app_host
    attributes.update(eval_attributes(meta.eval_run, meta.eval_row))
    return attributes


_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


def _stream_parts(capture: Capture, head: bytes, encoded: bool) -> list[bytes]:
    """The stream to reassemble: the kept head and, for a stream over the cap, its kept
    tail from the first whole event on (the events cut in between are gone; the head's last
    event is closed so it is not glued to the tail's first). A compressed stream's tail
    cannot be decoded without its start, so it is left out."""
    if not capture.tail or encoded:
        return [head]
    tail = b"".join(capture.tail)
    end = _EVENT_END.search(tail)
    if end is None:  # the tail is inside one event: nothing whole to add
        return [head]
    return [head, b"\n\n", tail[end.end() :]]


def _from_stream(result: Reassembled) -> _Response:
    return _Response(
        output=result.output,
        usage=result.usage,
        model=result.model,
        error=result.error,
        stream=True,
        complete=result.complete,
    )


def _redacted_error(error: JSONObject | None) -> JSONObject | None:
    """An error's fields (an upstream's message, a client exception's text) masked."""
    if error is None:
        return None
    masked = redact_json(error)
    return masked if isinstance(masked, dict) else error


def _status(
    capture: Capture, response: _Response, closed_after_end: bool = False
) -> tuple[Status, JSONObject | None]:
    """``closed_after_end``: the capture says cancelled, but the client had the response's
    end (``record.outcome``), so the call is judged as a finished one."""
    if capture.outcome == "running":
        return "running", None
    if capture.outcome in ("error", "cancelled") and not closed_after_end:
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


def _decoded_request(capture: Capture) -> bytes:
    """The request body as the upstream reads it: a compressed one (``Content-Encoding``,
    forwarded as sent) inflated, or kept as sent when its coding is unknown or corrupt."""
    body = bytes(capture.request_body)
    encoding = _header(capture.request_headers, "content-encoding")
    if not encoding or encoding.strip().lower() == "identity":
        return body
    decoded = decode_content(body, encoding)
    return body if decoded is None else decoded


def _header(headers: list[tuple[str, str]], name: str) -> str:
    for key, value in headers:
        if key.lower() == name:
            return value
    return ""


def _ms(start: float, end: float | None) -> float | None:
    return None if end is None else round((end - start) * 1000, 3)


def _request_meta(capture: Capture, meta: _Meta) -> JSONObject:
    headers: dict[str, JSON] = dict(redact_headers(capture.request_headers))
    return {
        "method": capture.method,
        "path": meta.path,
        "query": redact_query(capture.query) or None,
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
