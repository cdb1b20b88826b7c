"""Server settings: one frozen object passed explicitly, each field a flag and a variable.

Each field's ``WIRETRACE_*`` variable is a constant below, so the CLI, docs and tests share
one spelling; ``commands.flags.OPTIONS`` is the one table that pairs each field with its
flag and its variable, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

ENV_HOST = "WIRETRACE_HOST"
"""``--host``: interface to listen on."""
ENV_PORT = "WIRETRACE_PORT"
"""``--port``: TCP port to listen on."""
ENV_UPSTREAM = "WIRETRACE_UPSTREAM"
"""``--upstream``: upstream base URL, without ``/v1``."""
ENV_DB = "WIRETRACE_DB"
"""``--db``: database URL (``sqlite:///path``, ``postgresql://...``) or a plain file path."""
ENV_PROJECT = "WIRETRACE_PROJECT"
"""``--project``: project a call is filed under when the request names none."""
ENV_MAX_BODY_BYTES = "WIRETRACE_MAX_BODY_BYTES"
"""``--max-body-bytes``: bytes of each body kept in a record (the rest is counted)."""
ENV_KEEP_EMBEDDINGS = "WIRETRACE_KEEP_EMBEDDINGS"
"""``--keep-embeddings``: store embedding vectors in full, not just their shape."""
ENV_KEY_SALT = "WIRETRACE_KEY_SALT"
"""``--key-salt``: salt for API key fingerprints (default: a random one, kept)."""
ENV_PRICES = "WIRETRACE_PRICES"
"""``--prices``: TOML prices file whose entries win over genai-prices."""
ENV_LOG_LEVEL = "WIRETRACE_LOG_LEVEL"
"""``--log-level``: debug, info, warning or error."""
ENV_MAX_PENDING = "WIRETRACE_MAX_PENDING"
"""``--max-pending``: records waiting for the writer before new ones are dropped."""
ENV_BATCH_SIZE = "WIRETRACE_BATCH_SIZE"
"""``--batch-size``: records the writer stores per transaction, at most."""
ENV_FLUSH_INTERVAL = "WIRETRACE_FLUSH_INTERVAL"
"""``--flush-interval``: seconds the writer waits to fill a batch."""
ENV_SPOOL_DIR = "WIRETRACE_SPOOL_DIR"
"""``--spool-dir``: where records wait on disk while the database refuses them."""
ENV_SPOOL_MAX_BYTES = "WIRETRACE_SPOOL_MAX_BYTES"
"""``--spool-max-bytes``: the spool's size bound (when full, the oldest are kept)."""
ENV_CONNECT_TIMEOUT = "WIRETRACE_CONNECT_TIMEOUT"
"""``--connect-timeout``: seconds to connect to the upstream before answering 504."""
ENV_READ_TIMEOUT = "WIRETRACE_READ_TIMEOUT"
"""``--read-timeout``: seconds of upstream silence before a call fails."""
ENV_DRAIN_TIMEOUT = "WIRETRACE_DRAIN_TIMEOUT"
"""``--drain-timeout``: seconds a clean stop takes at most, in-flight calls and writer alike."""
ENV_AUTH_TOKEN = "WIRETRACE_AUTH_TOKEN"
"""``--auth-token``: token(s) the API and UI require (comma-separated; unset: open)."""
ENV_AUTH_TOKEN_FILE = "WIRETRACE_AUTH_TOKEN_FILE"
"""``--auth-token-file``: a file of such tokens, one a line (a mounted secret)."""
ENV_PUBLIC_HOST = "WIRETRACE_PUBLIC_HOST"
"""``--public-host``: host names answered besides loopback names and IP addresses."""
ENV_PROXY_TOKEN = "WIRETRACE_PROXY_TOKEN"
"""``--proxy-token``: token(s) ``/v1`` requires in a ``Wiretrace-Token`` header (unset: open)."""
ENV_INSECURE_NO_AUTH = "WIRETRACE_INSECURE_NO_AUTH"
"""``--insecure-no-auth``: listen beyond loopback with no ``--auth-token`` all the same."""
ENV_OTLP_PORT = "WIRETRACE_OTLP_PORT"
"""``--otlp-port``: a second port taking OTLP/HTTP traces at ``/v1/traces`` (4318 is the usual)."""
ENV_INTERCEPT = "WIRETRACE_INTERCEPT"
"""``--intercept``: port of the HTTPS forward proxy (intercept mode) started beside the server."""
ENV_LLM_HOST = "WIRETRACE_LLM_HOST"
"""``--llm-host``: extra LLM API hosts intercept mode decrypts (comma-separated globs)."""
ENV_ROUTE = "WIRETRACE_ROUTE"
"""``--route``: ``HOST=URL`` pairs (comma-separated): intercepted calls to HOST go to URL."""
ENV_ROUTE_CA = "WIRETRACE_ROUTE_CA"
"""``--route-ca``: extra CA certificate (PEM) trusted for upstreams of intercepted calls."""
ENV_INTERCEPT_TOKEN = "WIRETRACE_INTERCEPT_TOKEN"
"""``--intercept-token``: password the intercept proxy requires (Proxy-Authorization)."""
ENV_MITMDUMP = "WIRETRACE_MITMDUMP"
"""``--mitmdump``: the mitmdump executable intercept mode runs (default: found)."""
ENV_REPLICA_NAME = "WIRETRACE_REPLICA_NAME"
"""``--replica-name``: this server's name at ``/healthz`` (default ``hostname:pid``)."""
ENV_RETENTION_DAYS = "WIRETRACE_RETENTION_DAYS"
"""``--retention-days``: delete calls that started more than this many days ago (unset: keep)."""
ENV_OTLP_EXPORT = "WIRETRACE_OTLP_EXPORT"
"""``--otlp-export``: OTLP/HTTP traces URL every call and span is exported to (unset: none)."""
ENV_OTLP_EXPORT_HEADERS = "WIRETRACE_OTLP_EXPORT_HEADERS"
"""``--otlp-export-headers``: ``key=value`` headers sent with each export (comma-separated)."""
ENV_OTLP_EXPORT_OPENINFERENCE = "WIRETRACE_OTLP_EXPORT_OPENINFERENCE"
"""``--otlp-export-openinference``: add OpenInference keys (Phoenix) to exported spans."""
ENV_OTLP_EXPORT_GZIP = "WIRETRACE_OTLP_EXPORT_GZIP"
"""``--otlp-export-gzip``: gzip each export request (on by default)."""
ENV_OTLP_EXPORT_HOLD = "WIRETRACE_OTLP_EXPORT_HOLD"
"""``--otlp-export-hold``: seconds a proxied LLM call waits for its app's span before export."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
DEFAULT_UPSTREAM = "https://api.openai.com"
DEFAULT_PROJECT = "default"
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
DEFAULT_INTERCEPT_PORT = 8788
LOG_LEVELS = ("debug", "info", "warning", "error")

MEMORY_URL = "sqlite://"
"""An in-memory SQLite database, SQLAlchemy's spelling: nothing is kept after exit."""
_MEMORY_SPELLINGS = {":memory:", "sqlite://", "sqlite:///:memory:"}


def default_db_url() -> str:
    """A SQLite file under the user's data directory."""
    path = Path(platformdirs.user_data_dir("wiretrace", appauthor=False)) / "wiretrace.db"
    return f"sqlite:///{path}"


def normalise_db_url(value: str) -> str:
    """Accept a URL or a plain path (a path means a SQLite file); every in-memory spelling
    becomes ``MEMORY_URL``, so nothing mistakes it for a file (``:memory:`` is not one)."""
    if value in _MEMORY_SPELLINGS:
        return MEMORY_URL
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    upstream: str = DEFAULT_UPSTREAM
    """Base URL of the upstream; ``/v1/...`` paths are appended to it."""
    db_url: str = ""
    """SQLAlchemy-style URL; empty means ``default_db_url()``."""
    project: str = DEFAULT_PROJECT
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    keep_embeddings: bool = False
    key_salt: str | None = None
    max_pending: int = 100_000
    """Records waiting for the writer before new ones are dropped (and counted)."""
    batch_size: int = 500
    flush_interval: float = 0.05
    """Seconds the writer waits for more records before writing a partial batch."""
    spool_dir: str | None = None
    """Directory of the on-disk spool; None means ``default_spool_dir``."""
    spool_max_bytes: int = 1024**3
    """Bytes the spool may take on disk; records past it are refused (and counted lost)."""
    connect_timeout: float = 30.0
    """Seconds to connect to the upstream before answering 504."""
    read_timeout: float = 600.0
    """Seconds of upstream silence (no byte) before the call fails: reasoning models think."""
    drain_timeout: float = 8.0
    """Seconds a clean stop takes at most, from the signal: in-flight calls get it less the
    writer's reserve (``stopping.writer_reserve``), the writer what is left. 8 s fits the
    10 s a container runtime waits after SIGTERM before it kills."""
    prices_file: str | None = None
    """TOML file of model prices that win over genai-prices (``pricing.load_overrides``)."""
    log_level: str = "info"
    """One of ``LOG_LEVELS``."""
    auth_tokens: tuple[str, ...] = field(default=(), repr=False)  # a repr is printed, logged
    """Tokens any of which opens the API and UI (``access``); empty with no token file:
    open, as on loopback by default."""
    auth_token_file: str | None = None
    """A file of more such tokens, one a line, read at start."""
    public_hosts: tuple[str, ...] = ()
    """``Host`` names answered besides loopback names and IP addresses (DNS rebinding)."""
    proxy_tokens: tuple[str, ...] = field(default=(), repr=False)
    """Tokens any of which ``/v1`` calls must send as ``Wiretrace-Token``; empty: open."""
    insecure_no_auth: bool = False
    """Listen on a non-loopback address with no auth token (``serve`` refuses otherwise)."""
    intercept_port: int | None = None
    """Port of the intercept proxy (``HTTPS_PROXY``); None: no intercept mode."""
    llm_hosts: tuple[str, ...] = ()
    """Extra LLM host globs for intercept mode (``providers.parse_llm_host``)."""
    routes: tuple[tuple[str, str], ...] = ()
    """(host, base URL) pairs: intercepted calls to host go to the URL instead."""
    route_ca: str | None = None
    """A PEM CA file trusted, besides the default roots, by intercepted calls' upstreams."""
    intercept_token: str | None = None
    """The intercept proxy's password (``Proxy-Authorization: Basic wiretrace:TOKEN``)."""
    mitmdump: str | None = None
    """The mitmdump executable; None: ``intercept.install.find_mitmdump``."""
    replica_name: str | None = None
    """This server's name among replicas of one database; None means ``hostname:pid``."""
    retention_days: int | None = None
    """Calls that started more than this many days ago are deleted in the background
    (``retention``); None keeps everything."""
    otlp_export: str | None = None
    """Full OTLP/HTTP traces URL (``otlp_export.endpoint.traces_url``); None: no export."""
    otlp_export_headers: tuple[tuple[str, str], ...] = ()
    """(name, value) headers sent with every export (an API key, a project name)."""
    otlp_export_openinference: bool = False
    """Exported spans also carry OpenInference keys (``llm.*``, ``input.value``)."""
    otlp_export_gzip: bool = True
    """Exports are sent with ``Content-Encoding: gzip``."""
    otlp_export_hold: float | None = None
    """Seconds a proxied LLM call is held back before export, so its app's span can fold in
    first (0: export at once); None: ``otlp_export.exporter.MERGE_WINDOW_S``."""
    otlp_port: int | None = None
    """A second port where OTLP/HTTP traces are taken at ``/v1/traces`` (on the server's
    own port they are at ``/otlp/v1/traces``); None: only there."""

    @property
    def database_url(self) -> str:
        return normalise_db_url(self.db_url) if self.db_url else default_db_url()

    @property
    def spool_path(self) -> Path | None:
        """The spool's directory: ``--spool-dir``, else beside a SQLite file
        (``<file>.spool``), else ``spool`` in the user's data directory; None for an
        in-memory database (nothing of it outlives the process anyway)."""
        if self.spool_dir:
            return Path(self.spool_dir).expanduser()
        url = self.database_url
        if url == MEMORY_URL:
            return None
        if url.startswith("sqlite:///"):
            return Path(url.removeprefix("sqlite:///") + ".spool")
        return Path(platformdirs.user_data_dir("wiretrace", appauthor=False)) / "spool"

    @property
    def upstream_base(self) -> str:
        return self.upstream.rstrip("/")
