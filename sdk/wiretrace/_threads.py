"""A ``ThreadPoolExecutor`` whose tasks run in the submitter's context.

Why: Python 3.11 starts every thread with an empty ``contextvars`` context, and the stock
``concurrent.futures.ThreadPoolExecutor`` does not copy the submitter's context into its
tasks, so an op submitted from inside another op would start a new trace. Patching the
stdlib executor would change an object every library in the process shares; instead this
subclass (a drop-in replacement: ``from wiretrace import ThreadPoolExecutor``) runs each
task with ``contextvars.copy_context().run``, so the op that called ``submit`` (or ``map``)
is the parent. For a bare ``threading.Thread`` do the same by hand::

    ctx = contextvars.copy_context()
    threading.Thread(target=ctx.run, args=(work, item)).start()
"""

from __future__ import annotations

import concurrent.futures
import contextvars

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import ParamSpec, TypeVar

    P = ParamSpec("P")
    T = TypeVar("T")

__all__ = ["ThreadPoolExecutor"]


class ThreadPoolExecutor(concurrent.futures.ThreadPoolExecutor):
    """``concurrent.futures.ThreadPoolExecutor`` that carries ``contextvars`` into tasks."""

    def submit(
        self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> concurrent.futures.Future[T]:
        context = contextvars.copy_context()

        def run() -> T:
            return context.run(fn, *args, **kwargs)

        return super().submit(run)
