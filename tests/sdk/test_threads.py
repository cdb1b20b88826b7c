"""``wiretrace.ThreadPoolExecutor``: work submitted from an op runs under that op."""

from __future__ import annotations

import concurrent.futures
import contextvars

import wiretrace

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="unset")


def read() -> str:
    return VAR.get()


def test_tasks_run_in_the_submitters_context() -> None:
    VAR.set("submitter")
    with wiretrace.ThreadPoolExecutor(max_workers=2) as pool:
        assert pool.submit(read).result() == "submitter"
        assert list(pool.map(lambda _: read(), range(3))) == ["submitter"] * 3
        VAR.set("later")
        assert pool.submit(read).result() == "later"  # captured per submit, not per thread


def test_it_is_a_subclass_and_the_stdlib_is_not_patched() -> None:
    assert issubclass(wiretrace.ThreadPoolExecutor, concurrent.futures.ThreadPoolExecutor)
    stock_submit = concurrent.futures.ThreadPoolExecutor.submit
    VAR.set("submitter")
    with wiretrace.ThreadPoolExecutor(max_workers=1):
        pass
    assert concurrent.futures.ThreadPoolExecutor.submit is stock_submit
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(read).result() == "unset"
