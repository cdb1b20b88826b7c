"""``api.reads.read``: a cancelled request stops its running statement.

A statement that would run forever (a recursive CTE counting without end) stands in for a
text search over a million bodies; cancelling the awaiting task must end it on its worker
thread within moments, and the connection must be usable again afterwards.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from wiretrace_proxy.api.reads import read
from wiretrace_proxy.storage.engine import create_engine_for

ENDLESS = sa.text(
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'reads.db'}")
    yield engine
    engine.dispose()


async def test_a_cancelled_read_interrupts_its_statement(engine: Engine) -> None:
    started, ended = threading.Event(), threading.Event()
    outcome: list[BaseException | None] = []

    def endless(conn: Connection) -> int:
        started.set()
        try:
            return int(conn.execute(ENDLESS).scalar_one())
        except BaseException as exc:
            outcome.append(exc)
            raise
        finally:
            ended.set()

    task = asyncio.ensure_future(read(engine, endless))  # noqa: TID251 (the test owns it)
    assert await asyncio.to_thread(started.wait, 5)
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    t0 = time.monotonic()
    assert await asyncio.to_thread(ended.wait, 5), "the statement was not interrupted"
    assert time.monotonic() - t0 < 2
    assert isinstance(outcome[0], OperationalError) and "interrupt" in str(outcome[0])
    assert await read(engine, lambda conn: conn.execute(sa.text("SELECT 41 + 1")).scalar()) == 42


async def test_a_read_that_is_not_cancelled_returns_its_value(engine: Engine) -> None:
    assert await read(engine, lambda conn: conn.execute(sa.text("SELECT 7")).scalar()) == 7
