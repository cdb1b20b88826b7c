"""Start and end spans for ``@op``: bind arguments, snapshot values, hand to the exporter.

Why separate from the wrappers: this is the fail-open boundary of an op call. Every
function here catches its own errors (logged at DEBUG) so that a value that cannot be
recorded, a missing signature or a broken ``__repr__`` never changes what the user's
function does or returns. Inputs are serialised when the op starts and outputs when it
ends, on the app's thread, so later mutation of the user's objects cannot rewrite history.
"""

from __future__ import annotations

import logging
import time

from ._context import CURRENT, remote_parent
from ._model import Model
from ._serialize import MAX_ITEMS, serialize, summarize_self, truncate, type_name
from ._span import Span, new_trace_id
from ._state import STATE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from contextvars import Token
    from inspect import Signature

    from ._serialize import JSON

__all__ = ["OpInfo", "Yielded", "end_error", "end_ok", "reset_context"]

log = logging.getLogger(__name__)

_UNSET: dict[str, str] = {}


class OpInfo:
    """What one op knows about its function: name, signature, version."""

    __slots__ = (
        "_defaults",
        "_names",
        "_prepared",
        "_self",
        "_signature",
        "_version",
        "fn",
        "name",
    )

    def __init__(self, fn: object, name: str) -> None:
        self.fn = fn
        self.name = name
        """The span's ``op_name``."""
        self._prepared = False
        self._signature: Signature | None = None
        self._names: tuple[str, ...] | None = None
        """Parameter names when all are plain positional-or-keyword (the fast path)."""
        self._defaults: dict[str, object] = {}
        self._self: str | None = None
        """``"self"`` or ``"cls"`` when the first parameter is one: summarised, not dumped."""
        self._version: dict[str, str] | None = _UNSET

    def _prepare(self) -> None:
        import inspect

        self._prepared = True
        try:
            signature = inspect.signature(self.fn)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return
        self._signature = signature
        params = list(signature.parameters.values())
        if params and params[0].name in ("self", "cls"):
            self._self = params[0].name
        if all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params):
            self._names = tuple(p.name for p in params)
            self._defaults = {p.name: p.default for p in params if p.default is not p.empty}

    def _arguments(self, args: tuple[object, ...], kwargs: dict[str, object]) -> dict[str, object]:
        names = self._names
        if names is not None and len(args) <= len(names):
            values = dict(zip(names, args, strict=False))
            if all(key in names and key not in values for key in kwargs):
                values.update(kwargs)
                if len(values) == len(names):
                    return {name: values[name] for name in names}
                if all(name in values or name in self._defaults for name in names):
                    return {n: values[n] if n in values else self._defaults[n] for n in names}
        if self._signature is None:
            return {"args": list(args), "kwargs": kwargs}
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError:  # the call itself will raise; record what was passed
            return {"args": list(args), "kwargs": kwargs}
        bound.apply_defaults()
        return dict(bound.arguments)

    def inputs(self, args: tuple[object, ...], kwargs: dict[str, object]) -> dict[str, JSON]:
        """Bound arguments (defaults applied), serialised; ``self``/``cls`` summarised."""
        if not self._prepared:
            self._prepare()
        arguments = self._arguments(args, kwargs)
        first = self._self
        return {
            name: summarize_self(value) if name == first else serialize(value)
            for name, value in arguments.items()
        }

    def version(self) -> dict[str, str] | None:
        """The op's version (computed on first use, then cached)."""
        if self._version is _UNSET:
            from ._versioning import op_version

            try:
                self._version = op_version(self.fn)
            except Exception:
                log.debug("wiretrace: no version for %s", self.name, exc_info=True)
                self._version = None
        return self._version

    def start(self, args: tuple[object, ...], kwargs: dict[str, object]) -> Span | None:
        """Open a span under the current one and send its start; ``None`` if that failed."""
        exporter = STATE.exporter
        if exporter is None:
            return None
        try:
            parent = CURRENT.get()
            if parent is not None:
                trace_id, parent_id = parent.trace_id, parent.id
            else:
                remote = remote_parent()
                if remote is not None:
                    trace_id, parent_id = remote.trace_id, remote.span_id
                else:
                    trace_id, parent_id = new_trace_id(), None
            span = Span(self.name, trace_id, parent_id, STATE.project, self.inputs(args, kwargs))
            span.op_version = self.version()
            if self._self == "self" and args and isinstance(args[0], Model):
                from ._versioning import model_version

                span.model_version = model_version(args[0], Model)
            exporter.submit(span, False)
            return span
        except Exception:  # fail-open boundary: the function runs untraced
            log.debug("wiretrace: could not start a span for %s", self.name, exc_info=True)
            return None


class Yielded:
    """Items a generator op produced, serialised as they come, at most ``MAX_ITEMS``."""

    __slots__ = ("extra", "values")

    def __init__(self) -> None:
        self.values: list[JSON] = []
        self.extra = 0

    def add(self, item: object) -> None:
        if len(self.values) < MAX_ITEMS:
            self.values.append(serialize(item))
        else:
            self.extra += 1

    def result(self) -> list[JSON]:
        if self.extra:
            return [*self.values, f"…[{self.extra} more items]"]
        return self.values


def _send_end(span: Span) -> None:
    exporter = STATE.exporter
    if exporter is not None and span.pid == STATE.pid:
        exporter.submit(span, True)


def end_ok(span: Span, value: object, *, serialized: bool = False) -> None:
    """Close ``span`` with its output and send the end."""
    try:
        span.output = value if serialized else serialize(value)  # type: ignore[assignment]
        span.ended_ns = time.time_ns()
        span.status = "ok"
        _send_end(span)
    except Exception:  # fail-open boundary
        log.debug("wiretrace: could not end span %s", span.op_name, exc_info=True)


def _exception_type(exc: BaseException) -> str:
    kind = type(exc)
    module = kind.__module__
    return type_name(kind) if module == "builtins" else f"{module}.{type_name(kind)}"


def end_error(span: Span, exc: BaseException) -> None:
    """Close ``span`` with the exception (type, message, traceback) and send the end."""
    try:
        import traceback

        try:
            message = str(exc)
        except Exception:
            message = f"<unprintable {type_name(type(exc))}>"
        span.error = {
            "type": _exception_type(exc),
            "message": truncate(message),
            "traceback": truncate("".join(traceback.format_exception(exc)), 50_000),
        }
        span.ended_ns = time.time_ns()
        span.status = "error"
        _send_end(span)
    except Exception:  # fail-open boundary
        log.debug("wiretrace: could not end span %s", span.op_name, exc_info=True)


def reset_context(token: Token[Span | None], span: Span) -> None:
    """Leave ``span``'s context; tolerate a step resumed in another context."""
    try:
        CURRENT.reset(token)
    except ValueError:
        log.debug("wiretrace: %s resumed in another context", span.op_name)
