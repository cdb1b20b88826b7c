"""tiktoken encodings loaded in the background, so a token count never waits on a download.

tiktoken loads an encoding on first use and downloads its file from the internet when it is
not in ``TIKTOKEN_CACHE_DIR``; on a machine without network that call hangs or fails, and its
registry holds a global lock meanwhile. ``Tokenizers`` therefore starts one daemon thread per
encoding (never more than one at a time per name), and ``get`` only ever returns an encoder
that has finished loading, or None at once. A failed load is logged once and retried no
sooner than ``RETRY_AFTER`` seconds later. The server loads an encoding on the first
estimate that needs one; tests wait on the loads with ``wait``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["RETRY_AFTER", "TOKENIZERS", "Encoder", "Tokenizers"]

log = logging.getLogger(__name__)

RETRY_AFTER = 300.0
"""Seconds before a failed encoding load is tried again."""


class Encoder(Protocol):
    """The part of ``tiktoken.Encoding`` used here (``encode_ordinary`` never raises on
    special-token text such as ``<|endoftext|>``, unlike ``encode``)."""

    def encode_ordinary(self, text: str) -> list[int]: ...


def _tiktoken_loader(name: str) -> Encoder:
    import tiktoken  # imported here: the proxy's hot path never loads tiktoken

    encoding: Encoder = tiktoken.get_encoding(name)
    return encoding


@dataclass(slots=True)
class _Load:
    done: threading.Event
    encoder: Encoder | None = None
    failed_at: float | None = None


class Tokenizers:
    """tiktoken encodings loaded in background daemon threads, never waited on by a count.

    ``get`` returns an encoder only once it is loaded; the first ``get`` of
    a name starts its one loading thread. A failed load is logged once and retried no sooner
    than ``retry_after`` seconds later, so an offline machine does not spawn a thread per call.
    """

    def __init__(
        self,
        loader: Callable[[str], Encoder] = _tiktoken_loader,
        retry_after: float = RETRY_AFTER,
    ) -> None:
        self._loader = loader
        self._retry_after = retry_after
        self._lock = threading.Lock()
        self._loads: dict[str, _Load] = {}
        self._failed_names: set[str] = set()
        self.failures = 0
        """Loads that raised (each name is logged once; later failures are only counted)."""

    def get(self, name: str) -> Encoder | None:
        """The encoder if loaded; otherwise start loading it (once) and return None."""
        with self._lock:
            load = self._loads.get(name)
            if load is not None and (load.encoder is not None or not load.done.is_set()):
                return load.encoder
            if load is not None and load.failed_at is not None:
                if time.monotonic() - load.failed_at < self._retry_after:
                    return None
            load = _Load(threading.Event())
            self._loads[name] = load
        threading.Thread(
            target=self._load, args=(name, load), name=f"wiretrace-tiktoken-{name}", daemon=True
        ).start()
        return None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every started load has finished (loaded or failed); False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            loads = list(self._loads.values())
        for load in loads:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not load.done.wait(left):
                return False
        return True

    def ready(self, name: str) -> bool:
        with self._lock:
            load = self._loads.get(name)
            return load is not None and load.encoder is not None

    def _load(self, name: str, load: _Load) -> None:
        try:
            load.encoder = self._loader(name)
        except Exception as exc:  # noqa: BLE001 - fail-open boundary: estimates stay rough
            with self._lock:
                self.failures += 1
                first = name not in self._failed_names
                self._failed_names.add(name)
            if first:
                log.warning("usage: tokenizer %s unavailable (%r); estimating chars/4", name, exc)
        finally:
            if load.encoder is None:
                load.failed_at = time.monotonic()
            load.done.set()


TOKENIZERS = Tokenizers()
"""The process-wide holder used when ``estimate_usage`` is given none."""
