"""Server settings: one frozen object passed explicitly, each field a flag and a variable.

Each field's ``WIRETRACE_*`` variable is a constant below, so the CLI, docs and tests share
one spelling; ``commands.flags.OPTIONS`` is the one table that pairs each field with its
flag and its variable, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
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

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
DEFAULT_UPSTREAM = "https://api.openai.com"
DEFAULT_PROJECT = "default"
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
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
