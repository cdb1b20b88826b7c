"""Run the fake upstream and the wiretrace app on loopback, in a thread of their own.

The servers get their own event loop in a background thread, so the same harness serves the
sync ``openai.OpenAI`` client (which blocks) and ``AsyncOpenAI`` in the test's own loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from aiohttp import web
from aiohttp.typedefs import Handler
from wiretrace_proxy.app import create_app
from wiretrace_proxy.appkeys import ENGINE, WRITER
from wiretrace_proxy.callrecord import CallRecord
from wiretrace_proxy.settings import Settings
from wiretrace_proxy.storage import calls as stored
from wiretrace_proxy.storage.models import CALLS
from wiretrace_proxy.storage.rows import row_to_record

from tests.fakes.upstream import FAKE, FakeUpstream, create_fake_upstream

T = TypeVar("T")


class LoopThread:
    """An event loop running in a daemon thread; ``call`` runs a coroutine on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


async def start_site(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


@contextmanager
def fake_upstream_url() -> Iterator[str]:
    """The fake OpenAI upstream on 127.0.0.1, in a loop thread of this process; its URL.

    For tests whose wiretrace runs as another process (the in-process ``Servers`` starts
    its own)."""
    thread = LoopThread()
    runner, url = thread.call(start_site(create_fake_upstream()))
    try:
        yield url
    finally:
        thread.call(runner.cleanup())
        thread.close()


class Servers:
    """The fake upstream and a wiretrace app in front of it."""

    def __init__(self, db_url: str, upstream_name: str | None = None, **overrides: Any) -> None:
        """``upstream_name``: the app's upstream is the fake by this host name (the test
        makes the name resolve to loopback) instead of by its address."""
        self.thread = LoopThread()
        self._runners: list[web.AppRunner] = []
        upstream_app = create_fake_upstream()
        self.fake: FakeUpstream = upstream_app[FAKE]
        runner, self.upstream_url = self.thread.call(start_site(upstream_app))
        self._runners.append(runner)
        upstream = self.upstream_url
        if upstream_name is not None:
            upstream = f"http://{upstream_name}:{upstream.rsplit(':', 1)[1]}"
        self.settings = dataclasses.replace(
            Settings(), upstream=upstream, db_url=db_url, **overrides
        )
        self.app = create_app(self.settings)
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.app.middlewares.append(self._track)
        runner, self.proxy_url = self.thread.call(start_site(self.app))
        self._runners.insert(0, runner)

    @property
    def base_url(self) -> str:
        """What an app sets as ``OPENAI_BASE_URL``."""
        return self.proxy_url + "/v1"

    @web.middleware
    async def _track(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Count in-flight requests so a test can wait until every call was handed over."""
        self._inflight += 1
        self._idle.clear()
        try:
            return await handler(request)
        finally:
            self._inflight -= 1
            if self._inflight == 0:
                self._idle.set()

    def flush(self) -> None:
        """Wait until every finished call is handed to the writer and written."""
        self.wait(self._idle)
        assert self.app[WRITER].flush(10), "writer did not flush in time"

    def records(self, **filters: Any) -> list[CallRecord]:
        self.flush()
        with self.app[ENGINE].connect() as conn:
            return select_records(conn, **filters)

    def record(self, call_id: str) -> CallRecord:
        self.flush()
        with self.app[ENGINE].connect() as conn:
            found = stored.get_call(conn, call_id)
        assert found is not None, f"no record {call_id}"
        return found

    def in_loop(self, fn: Callable[[], T]) -> T:
        """Run a plain function on the servers' loop (e.g. to set an asyncio.Event)."""

        async def run() -> T:
            return fn()

        return self.thread.call(run())

    def wait(self, event: asyncio.Event, timeout: float = 10) -> None:
        self.thread.call(asyncio.wait_for(event.wait(), timeout), timeout + 1)

    def close(self) -> None:
        self.in_loop(self.fake.release.set)  # never leave a held stream behind
        for runner in self._runners:
            self.thread.call(runner.cleanup())
        self.thread.close()


def output(record: CallRecord) -> Any:
    """A record's output for assertions (typed ``Any``: tests index into it freely)."""
    return record.output


def inputs(record: CallRecord) -> Any:
    """A record's inputs for assertions."""
    return record.inputs


def select_records(conn: sa.Connection, limit: int = 100_000, **equal: object) -> list[CallRecord]:
    """Stored records whose columns equal ``equal``, newest first (a test's plain reading of
    the table, independent of the API's listing query)."""
    stmt = sa.select(CALLS).order_by(CALLS.c.started_at.desc(), CALLS.c.id.desc()).limit(limit)
    for column, value in equal.items():
        stmt = stmt.where(CALLS.c[column] == value)
    return [row_to_record(row) for row in conn.execute(stmt).mappings()]
