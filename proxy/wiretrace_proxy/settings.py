"""Server settings: one frozen object passed explicitly, each field also an env variable.

Every CLI flag ``--name`` mirrors ``WIRETRACE_<NAME>`` (design.md, CLI contract); the
variable names are the constants below so the CLI, docs and tests share one spelling.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

ENV_HOST = "WIRETRACE_HOST"
"""Interface to listen on (default 127.0.0.1)."""
ENV_PORT = "WIRETRACE_PORT"
"""TCP port (default 8787)."""
ENV_UPSTREAM = "WIRETRACE_UPSTREAM"
"""Upstream base URL, without ``/v1`` (default https://api.openai.com)."""
ENV_DB = "WIRETRACE_DB"
"""Database URL (``sqlite:///path`` or ``postgresql://...``) or a plain file path."""
ENV_PROJECT = "WIRETRACE_PROJECT"
"""Project a call is filed under when the request names none."""
ENV_MAX_BODY_BYTES = "WIRETRACE_MAX_BODY_BYTES"
"""Bytes of each request/response body kept in a record (the rest is counted, not kept)."""
ENV_KEEP_EMBEDDINGS = "WIRETRACE_KEEP_EMBEDDINGS"
"""Store embedding vectors in full (default: only their count and dimension)."""
ENV_KEY_SALT = "WIRETRACE_KEY_SALT"
"""Salt for API key fingerprints (default: a random salt stored next to the database)."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
DEFAULT_UPSTREAM = "https://api.openai.com"
DEFAULT_PROJECT = "default"
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024


def default_db_url() -> str:
    """A SQLite file under the user's data directory."""
    path = Path(platformdirs.user_data_dir("wiretrace", appauthor=False)) / "wiretrace.db"
    return f"sqlite:///{path}"


def normalise_db_url(value: str) -> str:
    """Accept a URL or a plain path (a path means a SQLite file)."""
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
    connect_timeout: float = 30.0
    """Seconds to connect to the upstream before answering 504."""
    read_timeout: float = 600.0
    """Seconds of upstream silence (no byte) before the call fails: reasoning models think."""
    drain_timeout: float = 30.0
    """Seconds a clean stop waits for in-flight calls and the writer to finish."""
    prices_file: str | None = None
    """TOML file of model prices that win over genai-prices (``pricing.load_overrides``)."""

    @property
    def database_url(self) -> str:
        return normalise_db_url(self.db_url) if self.db_url else default_db_url()

    @property
    def upstream_base(self) -> str:
        return self.upstream.rstrip("/")


def env_bool(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def settings_from_env(environ: dict[str, str] | None = None) -> Settings:
    """Settings from ``WIRETRACE_*`` variables alone (the CLI layers flags on top)."""
    env = dict(os.environ if environ is None else environ)
    return Settings(
        host=env.get(ENV_HOST, DEFAULT_HOST),
        port=int(env.get(ENV_PORT, DEFAULT_PORT)),
        upstream=env.get(ENV_UPSTREAM, DEFAULT_UPSTREAM),
        db_url=env.get(ENV_DB, ""),
        project=env.get(ENV_PROJECT, DEFAULT_PROJECT),
        max_body_bytes=int(env.get(ENV_MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES)),
        keep_embeddings=env_bool(env.get(ENV_KEEP_EMBEDDINGS)),
        key_salt=env.get(ENV_KEY_SALT),
    )
