"""When the proxy cannot be reached, OpenAI calls go straight to where the app sent them.

Why: ``init()`` rewrites the app's OpenAI requests to the proxy, so with no server there
every call would fail with a connection error the app would never have had without
wiretrace. Instead:

- A rewritten request whose connection to the proxy fails is sent again, unchanged, to its
  original URL, and the proxy is marked down. Only failures to *connect* count (the TCP
  connect, DNS, the TLS handshake; see ``never_sent``): no byte of the request was written,
  so sending it again cannot duplicate a call. The body has not been read either, so even a
  one-shot stream can be sent again (an OpenAI call's body is bytes anyway).
- While the proxy is down, the request path does not try it: ``Health.down`` is one
  attribute read, and such requests go out as the app built them. They are not recorded;
  they are counted (``direct_calls``, public as ``wiretrace.status().direct_calls``).
- A daemon thread asks ``{url}/healthz`` every ``PROBE_INTERVAL`` seconds; any HTTP answer
  (even an error status) means the proxy takes connections again, and routing resumes. No
  request of the app ever waits for a probe.
- The user is told once per change, on stderr, since the package logger has only a
  ``NullHandler``: when the proxy becomes unreachable and when it answers again. With
  ``quiet`` (``WIRETRACE_QUIET=1`` or ``init(quiet=True)``) the two go to the ``wiretrace``
  logger instead (WARNING and INFO), which shows nothing unless logging is configured.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

__all__ = [
    "ENV_QUIET",
    "PROBE_INTERVAL",
    "PROBE_TIMEOUT",
    "Health",
    "direct_calls",
    "never_sent",
    "reset_counts",
]

log = logging.getLogger(__name__)

PROBE_INTERVAL = 2.0
"""Seconds between re-checks of a proxy that could not be reached."""
PROBE_TIMEOUT = 2.0
"""Seconds one re-check may take (it runs on its own thread, never on a request)."""
ENV_QUIET = "WIRETRACE_QUIET"
"""A true value (``1``, ``true``, ``yes``, ``on``) keeps these notices off stderr."""

_lock = threading.Lock()
"""Guards the count and the down/up changes (rare: never taken on a routed request)."""
_direct = 0


def direct_calls() -> int:
    """OpenAI calls sent straight to their destination because the proxy was unreachable."""
    return _direct


def reset_counts() -> None:
    global _direct
    with _lock:
        _direct = 0


def _count() -> int:
    global _direct
    with _lock:
        _direct += 1
        return _direct


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # another thread may have held it at the fork


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def never_sent(error: BaseException, request: object) -> bool:
    """Whether ``error`` is ``request`` failing to connect, before any byte of it was sent.

    httpx's ``ConnectError`` means that by definition (connect, DNS, TLS handshake; openai's
    aiohttp transport maps only aiohttp's connector errors to it). ``ConnectTimeout`` counts
    only when its cause says so (httpcore's own connect timeout, or an aiohttp connector
    error), because openai's aiohttp transport also maps a connection lost mid-request to it.
    ``error.request is request`` rules out a later request of the same ``send`` (a redirect).
    """
    if getattr(error, "_request", None) is not request:  # set by httpx's request_context
        return False
    if type(error).__name__ == "ConnectError":
        return True
    cause = error.__cause__
    if type(error).__name__ != "ConnectTimeout" or cause is None:
        return False
    for kind in type(cause).__mro__:
        module = kind.__module__
        if module.startswith("httpcore") and kind.__name__ in ("ConnectError", "ConnectTimeout"):
            return True
        if module.startswith("aiohttp") and kind.__name__ == "ClientConnectorError":
            return True
    return False


def shown_url(base: str) -> str:
    """``base`` without user info, for messages."""
    scheme, sep, rest = base.partition("://")
    netloc, slash, path = rest.partition("/")
    return f"{scheme}{sep}{netloc.rpartition('@')[2]}{slash}{path}"


class Health:
    """Whether the proxy at ``base`` is taken to be down, and the thread that re-checks it."""

    __slots__ = ("_down_at", "_prober", "_stop", "base", "down", "quiet")

    def __init__(self, base: str, quiet: bool = False) -> None:
        self.base = base
        self.quiet = quiet
        self.down = False
        """Read on every OpenAI request: True sends it direct without trying the proxy."""
        self._down_at = 0
        """``direct_calls()`` before the current outage, for the count in the resume notice."""
        self._prober: threading.Thread | None = None
        self._stop = threading.Event()

    def went_direct(self) -> None:
        """Count a request sent direct while down; restart the re-check if it is gone (fork)."""
        _count()
        prober = self._prober
        if prober is None or not prober.is_alive():
            self._start_probe()

    def unreachable(self, error: BaseException) -> None:
        """A rewritten request could not connect to the proxy and goes direct instead."""
        global _direct
        with _lock:  # one section: the request that flips ``down`` is the one that tells
            _direct += 1
            if self.down:
                return
            self.down = True
            self._down_at = _direct - 1
        self._start_probe()
        detail = str(error) or type(error).__name__
        self._tell(
            logging.WARNING,
            f"wiretrace: the proxy at {shown_url(self.base)} cannot be reached ({detail}); "
            "OpenAI calls go straight to their destination and are not recorded until it "
            f"answers (set {ENV_QUIET}=1 to hide this)",
        )

    def close(self) -> None:
        """Stop re-checking (``init()`` moved to another URL, or the SDK was reset)."""
        self._stop.set()

    def _start_probe(self) -> None:
        with _lock:
            prober = self._prober
            if not self.down or self._stop.is_set() or (prober is not None and prober.is_alive()):
                return
            thread = threading.Thread(target=self._probe, name="wiretrace-probe", daemon=True)
            try:
                thread.start()
            except RuntimeError:  # interpreter shutting down: stay direct
                return
            self._prober = thread

    def _probe(self) -> None:
        try:
            while not self._stop.wait(PROBE_INTERVAL):
                if not _answers(self.base):
                    continue
                with _lock:
                    if self._stop.is_set():
                        return
                    self.down = False
                    self._prober = None  # a new outage starts a new thread
                    missed = _direct - self._down_at
                self._tell(
                    logging.INFO,
                    f"wiretrace: the proxy at {shown_url(self.base)} answers again; OpenAI "
                    f"calls go through it and are recorded ({missed} went direct meanwhile)",
                )
                return
        except Exception:  # fail-open: a request that finds this thread gone restarts it
            log.debug("wiretrace: the proxy re-check failed", exc_info=True)

    def _tell(self, level: int, message: str) -> None:
        if self.quiet:
            log.log(level, message)
            return
        try:
            stream = sys.stderr
            if stream is not None:
                stream.write(message + "\n")
                stream.flush()
        except Exception:  # fail-open: a closed stderr only loses the notice
            log.log(level, message)


def _answers(base: str) -> bool:
    """Whether the server at ``base`` answers HTTP (any status) within ``PROBE_TIMEOUT``."""
    import urllib.error
    import urllib.request

    try:
        opener = urllib.request.build_opener()
        with opener.open(base + "/healthz", timeout=PROBE_TIMEOUT) as response:
            response.read()
        return True
    except urllib.error.HTTPError as error:  # it answered: it takes connections again
        error.close()
        return True
    except Exception:  # refused, timed out, reset: still down
        return False
