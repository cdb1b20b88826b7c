"""Which span is current: one ``ContextVar``, plus the remote parent from ``TRACEPARENT``.

Why ``contextvars``: it is what asyncio copies into every task (so ``asyncio.gather`` and
tasks see the span that created them) and what ``contextvars.copy_context().run`` carries
into a thread. A thread started by a plain ``threading.Thread`` or a stock
``concurrent.futures.ThreadPoolExecutor`` starts with an empty context (Python 3.11), so
``wiretrace.ThreadPoolExecutor`` copies the submitter's context for each task.

The remote parent is read from the ``TRACEPARENT`` environment variable at ``init()`` (the
convention OpenTelemetry uses to hand a trace to a child process): root spans become its
children instead of starting a new trace.
"""

from __future__ import annotations

from contextvars import ContextVar

from ._traceparent import TraceParent, format_traceparent

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._span import Span

__all__ = [
    "CURRENT",
    "EVAL_ROW",
    "current_span",
    "current_traceparent",
    "remote_parent",
    "set_remote_parent",
]

CURRENT: ContextVar[Span | None] = ContextVar("wiretrace_current_span", default=None)
"""The innermost open span of this context; ``None`` outside any op."""

EVAL_ROW: ContextVar[tuple[str, str] | None] = ContextVar("wiretrace_eval_row", default=None)
"""``(run id, "row_index:trial")`` while an evaluation row's model runs: requests to the
proxy then carry ``Wiretrace-Eval-Run`` and ``Wiretrace-Eval-Row``."""

_remote: list[TraceParent | None] = [None]


def current_span() -> Span | None:
    """The span of the innermost op running in this context, or ``None``."""
    return CURRENT.get()


def remote_parent() -> TraceParent | None:
    """The parent given from outside the process (``TRACEPARENT``), if any."""
    return _remote[0]


def set_remote_parent(parent: TraceParent | None) -> None:
    """Set (or clear) the remote parent of root spans."""
    _remote[0] = parent


def current_traceparent() -> str | None:
    """The ``traceparent`` an outgoing request should carry now, or ``None``."""
    span = CURRENT.get()
    if span is not None:
        return format_traceparent(span.trace_id, span.id)
    remote = _remote[0]
    if remote is not None:
        return format_traceparent(remote.trace_id, remote.span_id, bool(remote.flags & 1))
    return None
