"""Process-wide SDK state, ``init()`` and ``finish()``.

Why one small mutable object: the hot path (every op call) asks one question, "is there an
exporter?", which must cost one attribute read. Everything else (settings, the exporter,
patches) is created by ``init()``, which may be called any number of times: a second call
updates the project and URL and reuses the exporter and the patches. Without ``init()``
ops run the user's function and nothing else.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading

from . import _context
from ._traceparent import parse_traceparent

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._exporter import Exporter

__all__ = [
    "DEFAULT_URL",
    "ENV_PROJECT",
    "ENV_QUIET",
    "ENV_TOKEN",
    "ENV_TRACEPARENT",
    "ENV_URL",
    "STATE",
    "Status",
    "auth_headers",
    "finish",
    "init",
    "status",
]

log = logging.getLogger(__name__)

DEFAULT_URL = "http://127.0.0.1:8787"
"""Where ``wiretrace serve`` listens by default."""
ENV_URL = "WIRETRACE_URL"
"""Server base URL when ``init(url=None)``."""
ENV_PROJECT = "WIRETRACE_PROJECT"
"""Project when ``init(project=None)``."""
ENV_QUIET = "WIRETRACE_QUIET"
"""``init(quiet=None)``: a true value (``1``, ``true``, ``yes``, ``on``) keeps the notices
about an unreachable proxy off stderr (they go to the ``wiretrace`` logger instead)."""
ENV_TOKEN = "WIRETRACE_TOKEN"
"""The server's access token (``wiretrace serve --auth-token``): the span exporter and the
query client send it as ``Authorization: Bearer``. Unset: nothing is sent."""
ENV_TRACEPARENT = "TRACEPARENT"
"""A W3C ``traceparent`` handed down by a parent process: root spans become its children."""
EXIT_TIMEOUT = 5.0
"""Seconds the interpreter waits at exit for the last spans to be sent."""


class _State:
    __slots__ = ("atexit_registered", "exporter", "pid", "project", "quiet", "url")

    def __init__(self) -> None:
        self.exporter: Exporter | None = None
        """``None`` until ``init()``: ops then only call the user's function."""
        self.project: str | None = None
        self.url: str | None = None
        self.quiet: bool | None = None
        """``init()``'s resolved ``quiet`` (None before): also silences evaluations' lines."""
        self.pid = os.getpid()
        """This process (updated after fork): spans started elsewhere are not ended here."""
        self.atexit_registered = False


STATE = _State()
_lock = threading.Lock()


def _after_fork_in_child() -> None:
    STATE.pid = os.getpid()
    exporter = STATE.exporter
    if exporter is not None:
        exporter.after_fork_in_child()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _at_exit() -> None:
    exporter = STATE.exporter
    if exporter is not None:
        exporter.shutdown(EXIT_TIMEOUT)


def auth_headers(token: str | None = None) -> dict[str, str]:
    """``Authorization: Bearer`` for ``token`` (default ``$WIRETRACE_TOKEN``); {} if none."""
    value = (token or os.environ.get(ENV_TOKEN) or "").strip()
    return {"Authorization": f"Bearer {value}"} if value else {}


def _resolve_url(url: str | None) -> str | None:
    resolved = (url or os.environ.get(ENV_URL) or DEFAULT_URL).strip().rstrip("/")
    if not resolved.startswith(("http://", "https://")):
        log.warning("wiretrace: init ignored: url %r is not http(s)://host[:port]", resolved)
        return None
    return resolved


def _quiet(quiet: bool | None) -> bool:
    if quiet is not None:
        return bool(quiet)
    return os.environ.get(ENV_QUIET, "").strip().lower() in ("1", "true", "yes", "on")


def init(project: str | None = None, url: str | None = None, *, quiet: bool | None = None) -> None:
    """Send spans to the wiretrace server and route OpenAI clients through its proxy.

    ``url`` (default ``$WIRETRACE_URL``, else ``http://127.0.0.1:8787``) is the server;
    ``project`` (default ``$WIRETRACE_PROJECT``) labels spans and proxied calls. OpenAI
    clients, including those created before this call, send requests meant for
    ``api.openai.com`` to ``{url}/v1`` with the current span's ``traceparent``; while the
    proxy cannot be reached they go straight to ``api.openai.com`` (unrecorded, counted in
    ``status()``), and a line on stderr says so once (``quiet``, default
    ``$WIRETRACE_QUIET``, sends it to the ``wiretrace`` logger instead). Never raises;
    calling it again updates the project and URL.
    """
    try:
        resolved = _resolve_url(url)
        if resolved is None:
            return
        from . import _inject
        from ._exporter import Exporter

        with _lock:
            STATE.project = project or os.environ.get(ENV_PROJECT) or None
            STATE.url = resolved
            _context.set_remote_parent(parse_traceparent(os.environ.get(ENV_TRACEPARENT)))
            if STATE.exporter is None:
                STATE.exporter = Exporter(resolved)
            else:
                STATE.exporter.url = resolved
            if not STATE.atexit_registered:
                atexit.register(_at_exit)
                STATE.atexit_registered = True
            STATE.quiet = _quiet(quiet)
            _inject.install(resolved, STATE.project, STATE.quiet)
    except Exception:  # fail-open boundary: the app runs without tracing
        log.warning("wiretrace: init failed; running without tracing", exc_info=True)


def finish(timeout: float = 10.0) -> bool:
    """Send every span ended so far; True when all were delivered within ``timeout``.

    Always returns. Tracing goes on afterwards; at interpreter exit this happens by itself.
    """
    exporter = STATE.exporter
    if exporter is None:
        return True
    try:
        return exporter.flush(timeout)
    except Exception:  # fail-open boundary
        log.debug("wiretrace: flush failed", exc_info=True)
        return False


class Status:
    """What ``status()`` returns: a snapshot of what the SDK did since ``init()``."""

    __slots__ = ("direct_calls", "routing", "spans_dropped", "spans_sent", "url")

    def __init__(
        self, url: str | None, routing: bool, direct_calls: int, spans_sent: int, dropped: int
    ) -> None:
        self.url = url
        """The server ``init()`` uses; None before ``init()``."""
        self.routing = routing
        """True while OpenAI calls go through the proxy (False before ``init()``, and while
        the proxy cannot be reached)."""
        self.direct_calls = direct_calls
        """OpenAI calls sent straight to their destination because the proxy could not be
        reached: they are not recorded."""
        self.spans_sent = spans_sent
        """Span events the server accepted."""
        self.spans_dropped = dropped
        """Span events lost: buffer full, batch rejected, or undeliverable at exit."""

    def __repr__(self) -> str:
        return (
            f"Status(url={self.url!r}, routing={self.routing}, direct_calls="
            f"{self.direct_calls}, spans_sent={self.spans_sent}, "
            f"spans_dropped={self.spans_dropped})"
        )


def status() -> Status:
    """Where tracing stands: the server URL, whether OpenAI calls are routed through the
    proxy now, how many went direct (unrecorded), spans sent and dropped. Never raises."""
    try:
        from . import _fallback, _inject

        exporter = STATE.exporter
        return Status(
            STATE.url,
            _inject.routing(),
            _fallback.direct_calls(),
            exporter.sent if exporter is not None else 0,
            exporter.dropped if exporter is not None else 0,
        )
    except Exception:  # fail-open boundary
        log.debug("wiretrace: status failed", exc_info=True)
        return Status(STATE.url, False, 0, 0, 0)


def reset(timeout: float = 1.0) -> None:
    """Undo ``init()``: restore patched clients, stop the exporter (tests use it)."""
    from . import _inject

    with _lock:
        _inject.uninstall()
        exporter, STATE.exporter = STATE.exporter, None
        STATE.project = STATE.url = STATE.quiet = None
        _context.set_remote_parent(None)
    if exporter is not None:
        exporter.shutdown(timeout)
