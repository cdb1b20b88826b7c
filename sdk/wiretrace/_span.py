"""The Span: one call of an op, as plain data.

Why a hand-written slotted class and not a dataclass: a span is created on every op call on
the app's thread, and ``import dataclasses`` costs more import time than this whole module.
A span is written only by the thread running the op; the exporter thread reads it to build
the wire events (``to_event``), and everything it reads for the *start* event is fixed
before the span is handed over.
"""

from __future__ import annotations

import os
import random
import time

from . import _serialize
from ._traceparent import format_traceparent

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._serialize import JSON

__all__ = ["Span", "new_span_id", "new_trace_id"]

_rng = random.Random()
"""Private generator: an app calling ``random.seed(0)`` must not make ids repeat."""
os.register_at_fork(after_in_child=_rng.seed)


def new_span_id() -> str:
    """16 lowercase hex characters, never all zero."""
    return f"{_rng.getrandbits(64) or 1:016x}"


def new_trace_id() -> str:
    """32 lowercase hex characters, never all zero."""
    return f"{_rng.getrandbits(128) or 1:032x}"


def _iso(ns: int) -> str:
    """ISO 8601 UTC with microseconds and a ``Z`` suffix, without importing ``datetime``."""
    seconds, rest = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{rest // 1000:06d}Z"


class Span:
    """One call of an op. Read it with ``wiretrace.current_span()``; do not create it."""

    __slots__ = (
        "attributes",
        "display_name",
        "ended_ns",
        "error",
        "id",
        "inputs",
        "model_version",
        "op_name",
        "op_version",
        "output",
        "parent_id",
        "pid",
        "project",
        "queued",
        "started_ns",
        "status",
        "trace_id",
    )

    def __init__(
        self,
        op_name: str,
        trace_id: str,
        parent_id: str | None,
        project: str | None = None,
        inputs: dict[str, JSON] | None = None,
    ) -> None:
        self.id = new_span_id()
        """16 hex characters; the ``parent-id`` of the ``traceparent`` sent from this span."""
        self.trace_id = trace_id
        """32 hex characters shared by every span and proxied call of one trace."""
        self.parent_id = parent_id
        """The enclosing span's id, a remote parent's id, or ``None`` for a root."""
        self.project = project
        self.op_name = op_name
        self.display_name: str | None = None
        self.inputs: dict[str, JSON] = inputs if inputs is not None else {}
        """Bound arguments, already serialised (a snapshot taken at call time)."""
        self.output: JSON = None
        """Return value (or yielded items), serialised when the op ends."""
        self.error: dict[str, str] | None = None
        """``{"type", "message", "traceback"}`` when the op raised."""
        self.attributes: dict[str, object] = {}
        """Free-form metadata; serialised (never raising) when sent."""
        self.op_version: dict[str, str] | None = None
        self.model_version: dict[str, JSON] | None = None
        self.status = "running"
        """``running`` until the op ends, then ``ok`` or ``error``."""
        self.started_ns = time.time_ns()
        self.ended_ns: int | None = None
        self.pid = os.getpid()
        """Process that started the span: a forked child never ends its parent's spans."""
        self.queued = False
        """An event of this span waits in the exporter's buffer (its end then needs none)."""

    @property
    def traceparent(self) -> str:
        """The W3C header value that makes a request a child of this span."""
        return format_traceparent(self.trace_id, self.id)

    def to_event(self, final: bool) -> dict[str, object]:
        """The wire ``SpanEvent``: the start (``final=False``) or the end of this span."""
        ended_ns = self.ended_ns if final else None
        ended = ended_ns is not None
        return {
            "id": self.id,
            "trace_id": self.trace_id,
            "parent_id": self.parent_id,
            "project": self.project,
            "op_name": self.op_name,
            "display_name": self.display_name,
            "started_at": _iso(self.started_ns),
            "ended_at": _iso(ended_ns) if ended_ns is not None else None,
            "status": self.status if ended else "running",
            "inputs": self.inputs,
            "output": self.output if ended else None,
            "error": self.error if ended else None,
            "attributes": _serialize.serialize(self.attributes),
            "op_version": self.op_version,
            "model_version": self.model_version,
        }

    def __repr__(self) -> str:
        return f"<Span {self.op_name} id={self.id} trace={self.trace_id} {self.status}>"
