"""The settings table: each ``Settings`` field with its flag, its ``WIRETRACE_*`` variable,
how a text value is checked and what ``--help`` says about it.

The commands build their flags from ``OPTIONS`` (``options.add_settings``), so a flag and its
variable cannot drift apart, and a value is checked the same way whichever spelled it. Each
``parse_*`` turns text into the field's value or raises ``ValueError`` with a one-line reason
that names no source: the caller says whether it was the flag or the variable.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from wiretrace_proxy.access.names import parse_public_host
from wiretrace_proxy.access.tokens import parse_token as parse_access_token
from wiretrace_proxy.intercept.routes import parse_route, parse_token
from wiretrace_proxy.otlp_export.endpoint import parse_header, traces_url
from wiretrace_proxy.providers import parse_llm_host
from wiretrace_proxy.settings import (
    DEFAULT_INTERCEPT_PORT,
    ENV_AUTH_TOKEN,
    ENV_AUTH_TOKEN_FILE,
    ENV_BATCH_SIZE,
    ENV_CONNECT_TIMEOUT,
    ENV_DB,
    ENV_DRAIN_TIMEOUT,
    ENV_FLUSH_INTERVAL,
    ENV_HOST,
    ENV_INSECURE_NO_AUTH,
    ENV_INTERCEPT,
    ENV_INTERCEPT_TOKEN,
    ENV_KEEP_EMBEDDINGS,
    ENV_KEY_SALT,
    ENV_LLM_HOST,
    ENV_LOG_LEVEL,
    ENV_MAX_BODY_BYTES,
    ENV_MAX_PENDING,
    ENV_MITMDUMP,
    ENV_OTLP_EXPORT,
    ENV_OTLP_EXPORT_GZIP,
    ENV_OTLP_EXPORT_HEADERS,
    ENV_OTLP_EXPORT_HOLD,
    ENV_OTLP_EXPORT_OPENINFERENCE,
    ENV_OTLP_PORT,
    ENV_PORT,
    ENV_PRICES,
    ENV_PROJECT,
    ENV_PROXY_TOKEN,
    ENV_PUBLIC_HOST,
    ENV_READ_TIMEOUT,
    ENV_REPLICA_NAME,
    ENV_RETENTION_DAYS,
    ENV_ROUTE,
    ENV_ROUTE_CA,
    ENV_SPOOL_DIR,
    ENV_SPOOL_MAX_BYTES,
    ENV_UPSTREAM,
    LOG_LEVELS,
    Settings,
    default_db_url,
)

__all__ = ["OPTIONS", "OPTION_BY_FIELD", "Option"]

_N = TypeVar("_N", int, float)


def parse_bool(value: str) -> bool:
    """A yes/no value; a typo is refused rather than read as no."""
    word = value.strip().lower()
    if word in {"1", "true", "yes", "on"}:
        return True
    if word in {"0", "false", "no", "off"}:
        return False
    raise ValueError("not a yes/no value (1/0, true/false, yes/no, on/off)")


def _number(value: str, kind: Callable[[str], _N], what: str) -> _N:
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"not {what}") from None


def parse_port(value: str) -> int:
    port = _number(value, int, "a port number")
    if not 0 <= port <= 65535:
        raise ValueError("port out of range 0-65535")
    return port


def parse_upstream(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("upstream must be an http(s) URL")
    return value


def parse_positive(value: str) -> int:
    if (number := _number(value, int, "a whole number")) <= 0:
        raise ValueError("must be positive")
    return number


def parse_seconds(value: str) -> float:
    seconds = _number(value, float, "a number of seconds")
    if not 0 < seconds < float("inf"):  # also refuses nan
        raise ValueError("must be a positive number of seconds")
    return seconds


def parse_hold(value: str) -> float:
    seconds = _number(value, float, "a number of seconds")
    if not 0 <= seconds < float("inf"):  # also refuses nan
        raise ValueError("must be 0 or a positive number of seconds")
    return seconds


def parse_text(value: str) -> str:
    """A name or address: blank is refused (it would silently mean something else)."""
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def parse_log_level(value: str) -> str:
    level = value.strip().lower()
    if level not in LOG_LEVELS:
        raise ValueError(f"not a log level (choose {', '.join(LOG_LEVELS)})")
    return level


@dataclass(frozen=True, slots=True)
class Option:
    """One setting as the command line and the environment spell it."""

    field: str
    """The ``Settings`` field it sets."""
    flag: str
    env: str
    parse: Callable[[str], object]
    """Text (a flag's argument, a variable's value) to the field's value, or ``ValueError``
    with a one-line reason."""
    help: str
    metavar: str | None = None
    repeat: bool = False
    """The flag may be given more than once (its variable: comma-separated values); the
    field is the tuple of the parsed values."""
    const: object = None
    """The value of the flag given without an argument (None: it needs one)."""
    secret: bool = False
    """``--help`` shows no value for it: a token set in the environment stays unprinted."""

    @property
    def default(self) -> object:
        """The value when neither the flag nor the variable is set."""
        if self.field == "db_url":
            return default_db_url()  # say where the data goes, not "empty"
        return _FIELDS[self.field].default


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}

OPTIONS: tuple[Option, ...] = (
    Option("host", "--host", ENV_HOST, parse_text, "interface to listen on; 0.0.0.0 for all"),
    Option("port", "--port", ENV_PORT, parse_port, "TCP port to listen on; 0 picks a free one"),
    Option(
        "upstream",
        "--upstream",
        ENV_UPSTREAM,
        parse_upstream,
        "OpenAI-compatible base URL the calls go to, without /v1",
        "URL",
    ),
    Option(
        "db_url",
        "--db",
        ENV_DB,
        parse_text,
        "where calls are stored: sqlite:///PATH, a file path, postgresql://..., "
        "or :memory: to keep nothing after exit",
        "URL",
    ),
    Option("project", "--project", ENV_PROJECT, parse_text, "project of calls that name none"),
    Option(
        "max_body_bytes",
        "--max-body-bytes",
        ENV_MAX_BODY_BYTES,
        parse_positive,
        "bytes kept of each request and response body (the rest is only counted)",
        "N",
    ),
    Option(
        "keep_embeddings",
        "--keep-embeddings",
        ENV_KEEP_EMBEDDINGS,
        parse_bool,
        "store embedding vectors in full, not only their count and dimension",
    ),
    Option(
        "key_salt",
        "--key-salt",
        ENV_KEY_SALT,
        parse_text,
        "salt for API key fingerprints, the same on servers that should match; unset, a "
        "random salt kept beside the database (prefer the variable: flags show in ps)",
        "SALT",
    ),
    Option(
        "prices_file",
        "--prices",
        ENV_PRICES,
        parse_text,
        "TOML file of model prices that win over genai-prices",
        "FILE",
    ),
    Option(
        "log_level",
        "--log-level",
        ENV_LOG_LEVEL,
        parse_log_level,
        f"how much the server logs: {', '.join(LOG_LEVELS)}",
        "LEVEL",
    ),
    Option(
        "max_pending",
        "--max-pending",
        ENV_MAX_PENDING,
        parse_positive,
        "records waiting for the writer before new ones are dropped (and counted)",
        "N",
    ),
    Option(
        "batch_size",
        "--batch-size",
        ENV_BATCH_SIZE,
        parse_positive,
        "records the writer stores per transaction, at most",
        "N",
    ),
    Option(
        "flush_interval",
        "--flush-interval",
        ENV_FLUSH_INTERVAL,
        parse_seconds,
        "seconds the writer waits for more records before storing a partial batch",
        "SECONDS",
    ),
    Option(
        "spool_dir",
        "--spool-dir",
        ENV_SPOOL_DIR,
        parse_text,
        "where records wait on disk while the database refuses writes (default: beside "
        "a SQLite file as FILE.spool, else in the user's data directory)",
        "DIR",
    ),
    Option(
        "spool_max_bytes",
        "--spool-max-bytes",
        ENV_SPOOL_MAX_BYTES,
        parse_positive,
        "bytes the spool may take on disk; when full the oldest records are kept and "
        "the rest counted lost",
        "N",
    ),
    Option(
        "connect_timeout",
        "--connect-timeout",
        ENV_CONNECT_TIMEOUT,
        parse_seconds,
        "seconds to connect to the upstream before answering 504",
        "SECONDS",
    ),
    Option(
        "read_timeout",
        "--read-timeout",
        ENV_READ_TIMEOUT,
        parse_seconds,
        "seconds of upstream silence (not one byte) before a call fails",
        "SECONDS",
    ),
    Option(
        "drain_timeout",
        "--drain-timeout",
        ENV_DRAIN_TIMEOUT,
        parse_seconds,
        "seconds a clean stop takes at most, from the signal: in-flight calls get it less "
        "the writer's reserve (a quarter, at most 2 s), then are cancelled; pending records "
        "get the rest",
        "SECONDS",
    ),
    Option(
        "auth_tokens",
        "--auth-token",
        ENV_AUTH_TOKEN,
        parse_access_token,
        "require this token for the API and the web UI (Authorization: Bearer, or sign in "
        "at /signin); repeatable, to rotate; unset: open (prefer the variable or "
        "--auth-token-file: flags show in ps)",
        "TOKEN",
        repeat=True,
        secret=True,
    ),
    Option(
        "auth_token_file",
        "--auth-token-file",
        ENV_AUTH_TOKEN_FILE,
        parse_text,
        "read more --auth-token tokens from this file, one a line (a mounted secret)",
        "FILE",
    ),
    Option(
        "public_hosts",
        "--public-host",
        ENV_PUBLIC_HOST,
        parse_public_host,
        "also answer requests addressed to this host name (loopback names and IP addresses "
        "always are; .example.com allows its subdomains); repeatable",
        "NAME",
        repeat=True,
    ),
    Option(
        "proxy_tokens",
        "--proxy-token",
        ENV_PROXY_TOKEN,
        parse_access_token,
        "require this token in a Wiretrace-Token header on /v1 calls (never forwarded or "
        "stored); repeatable; unset: /v1 is open",
        "TOKEN",
        repeat=True,
        secret=True,
    ),
    Option(
        "insecure_no_auth",
        "--insecure-no-auth",
        ENV_INSECURE_NO_AUTH,
        parse_bool,
        "listen on a non-loopback --host with no --auth-token (refused otherwise)",
    ),
    Option(
        "replica_name",
        "--replica-name",
        ENV_REPLICA_NAME,
        parse_text,
        "this server's name at /healthz, among replicas sharing one database (default: "
        "hostname:pid)",
        "NAME",
    ),
    Option(
        "retention_days",
        "--retention-days",
        ENV_RETENTION_DAYS,
        parse_positive,
        "delete calls (with their child spans, feedback and stats) that started more than "
        "N days ago, in small batches at start and hourly (default: keep everything)",
        "N",
    ),
    Option(
        "intercept_port",
        "--intercept",
        ENV_INTERCEPT,
        parse_port,
        "also run intercept mode: an HTTPS proxy on this port (alone: "
        f"{DEFAULT_INTERCEPT_PORT}) that records the calls of apps run with "
        "`wiretrace intercept env` (HTTPS_PROXY), decrypting only LLM API hosts",
        "PORT",
        const=DEFAULT_INTERCEPT_PORT,
    ),
    Option(
        "llm_hosts",
        "--llm-host",
        ENV_LLM_HOST,
        parse_llm_host,
        "another host intercept mode decrypts and records (llm.corp.example or "
        "*.corp.example); repeatable",
        "PATTERN",
        repeat=True,
    ),
    Option(
        "routes",
        "--route",
        ENV_ROUTE,
        parse_route,
        "send intercepted calls to HOST to URL instead (a gateway, a test server); repeatable",
        "HOST=URL",
        repeat=True,
    ),
    Option(
        "route_ca",
        "--route-ca",
        ENV_ROUTE_CA,
        parse_text,
        "PEM CA certificate trusted besides the default roots for intercepted upstreams",
        "FILE",
    ),
    Option(
        "intercept_token",
        "--intercept-token",
        ENV_INTERCEPT_TOKEN,
        parse_token,
        "require this password from intercept clients (Proxy-Authorization, user "
        "wiretrace); `wiretrace intercept env` puts it in HTTPS_PROXY",
        "TOKEN",
    ),
    Option(
        "mitmdump",
        "--mitmdump",
        ENV_MITMDUMP,
        parse_text,
        "the mitmdump executable intercept mode runs (default: .venv-intercept of a "
        "checkout, the data directory's intercept venv, then PATH)",
        "PATH",
    ),
    Option(
        "otlp_export",
        "--otlp-export",
        ENV_OTLP_EXPORT,
        traces_url,
        "export every call and span as OTLP/HTTP protobuf to this URL (an OpenTelemetry "
        "collector, Jaeger, Tempo, Phoenix, Langfuse); /v1/traces is appended unless the "
        "path already ends with it; unset: no export",
        "URL",
    ),
    Option(
        "otlp_export_headers",
        "--otlp-export-headers",
        ENV_OTLP_EXPORT_HEADERS,
        parse_header,
        "header sent with every export, percent-encoded like OTEL_EXPORTER_OTLP_HEADERS "
        "(an API key, a project); repeatable",
        "KEY=VALUE",
        repeat=True,
        secret=True,
    ),
    Option(
        "otlp_export_openinference",
        "--otlp-export-openinference",
        ENV_OTLP_EXPORT_OPENINFERENCE,
        parse_bool,
        "exported spans also carry OpenInference keys (llm.*, input.value), which Phoenix "
        "reads first",
    ),
    Option(
        "otlp_export_gzip",
        "--otlp-export-gzip",
        ENV_OTLP_EXPORT_GZIP,
        parse_bool,
        "gzip each export request",
    ),
    Option(
        "otlp_export_hold",
        "--otlp-export-hold",
        ENV_OTLP_EXPORT_HOLD,
        parse_hold,
        "seconds a proxied LLM call is held back before export, so the span of the app "
        "that made it can fold in first and the call goes out in the app's trace "
        "(default 10, twice a batch span processor's delay; 0: export at once)",
        "SECONDS",
    ),
    Option(
        "otlp_port",
        "--otlp-port",
        ENV_OTLP_PORT,
        parse_port,
        "also take OTLP/HTTP traces at /v1/traces on this port (4318 is the standard one); "
        "they are always taken at /otlp/v1/traces on --port",
        "PORT",
    ),
)
"""Every setting, in ``--help`` order."""

OPTION_BY_FIELD = {option.field: option for option in OPTIONS}
