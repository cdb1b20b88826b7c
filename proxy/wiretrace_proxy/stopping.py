"""One deadline for a clean stop: in-flight calls, then the writer, within ``drain_timeout``.

Why one deadline: ``docker stop`` (and most supervisors) kill 10 s after SIGTERM, whatever
the server is doing. aiohttp's own shutdown waits its ``shutdown_timeout`` for in-flight
handlers, then (the request cancelled, a streaming handler carries on) waits it again
before cancelling the task, with the delay rounded up to a whole second past 5 s; the
writer's stop then took another ``drain_timeout``. Here the whole stop is one budget,
counted from the signal:

- in-flight calls get all of it but the writer's reserve (a quarter of the budget, at most
  ``WRITER_RESERVE_MAX``): a stream is what a stop most often interrupts, and each second
  it gets may be its last token;
- calls still running then are cancelled (each records itself as ``cancelled``, with the
  output so far) and get ``CANCEL_GRACE`` to hand their capture over;
- the writer gets whatever is left, the reserve at least, usually more because most
  calls end well before their budget: it stores thousands of records a second, so 2 s
  drains a large backlog, and what it cannot store in time is counted, not waited for.

The middleware (``track``) is a set insert and removal per request, no lock and no await.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

__all__ = ["CANCEL_GRACE", "WRITER_RESERVE_MAX", "Stopping", "writer_reserve"]

log = logging.getLogger(__name__)

WRITER_RESERVE_MAX = 2.0
"""Seconds of the budget kept for the writer, at most (a quarter of it below 8 s)."""
CANCEL_GRACE = 0.5
"""Seconds cancelled calls get to record themselves, taken from the writer's reserve."""


def writer_reserve(budget: float) -> float:
    """The part of a stop's budget in-flight calls leave to the writer."""
    return min(WRITER_RESERVE_MAX, budget / 4)


class Stopping:
    """A server's stop: the requests in flight, the deadline once a stop has begun, and
    whether the writer finished by it (``app.STOPPING``)."""

    def __init__(self) -> None:
        self._requests: set[asyncio.Task[Any]] = set()
        self._idle: asyncio.Future[None] | None = None
        self.deadline: float | None = None
        """``time.monotonic()`` by which the stop must be over; None until it begins."""
        self.writer_finished: bool | None = None
        """``Writer.stop``'s answer: False if the deadline passed first."""

    @web.middleware
    async def track(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Note the task handling each request, so a stop can wait for it or cancel it."""
        task = asyncio.current_task()
        assert task is not None  # aiohttp runs every handler in a task
        self._requests.add(task)
        try:
            return await handler(request)
        finally:
            self._requests.discard(task)
            if not self._requests and self._idle is not None and not self._idle.done():
                self._idle.set_result(None)

    @property
    def in_flight(self) -> int:
        return len(self._requests)

    def time_left(self, default: float) -> float:
        """Seconds until the deadline (never negative); ``default`` before a stop began."""
        if self.deadline is None:
            return default
        return max(0.0, self.deadline - time.monotonic())

    async def drain(self, runner: web.AppRunner, budget: float) -> None:
        """Stop accepting, close idle connections, let in-flight calls finish until the
        writer's reserve is all that is left, then cancel the rest (see the module doc).

        ``runner.cleanup()`` comes after: it finds nothing in flight, closes the
        connections and runs the cleanup contexts (the writer's stop among them), which
        take their time from ``time_left``.
        """
        self.deadline = time.monotonic() + budget
        for site in list(runner.sites):
            await site.stop()  # no new connections
        if runner.server is not None:
            for connection in runner.server.connections:
                connection.close()  # idle ones at once, busy ones after their response
        calls_end = self.deadline - writer_reserve(budget)
        if not await self._wait_idle(calls_end):
            running = list(self._requests)
            log.warning(
                "server: drain deadline: cancelling %d calls still running "
                "(recorded as cancelled, with their output so far)",
                len(running),
            )
            for task in running:
                task.cancel()
            await self._wait_idle(min(time.monotonic() + CANCEL_GRACE, self.deadline))

    async def _wait_idle(self, until: float) -> bool:
        """Wait until no request is in flight, or ``until`` (monotonic); True if idle."""
        if not self._requests:
            return True
        self._idle = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(asyncio.shield(self._idle), max(0.0, until - time.monotonic()))
        except TimeoutError:
            return not self._requests
        return True
