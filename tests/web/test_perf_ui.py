"""UI performance against a 1,000,000-call database, measured in the browser.

Targets (issue): the traces table's first render <= 1 s after navigation, applying a filter
or a sort <= 300 ms, opening a 200-node trace <= 500 ms, the bundle <= 500 kB gzipped.
The figures are printed and written to ``tests/web/perf.json``; the assertions allow 3x
the targets (CI machines are noisy), the bundle budget is exact.

The database comes from ``bench/gen_calls.py`` (about 1.5 min for 1M calls on 2 cores) and
is kept in ``bench/results/ui-perf-<rows>.db`` for the next run; ``WIRETRACE_UI_PERF_ROWS``
overrides the size for a quick local run. The test adds one 200-span SDK trace (fixed ids,
so re-adding it is a no-op: span ingest is idempotent by id).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.web.conftest import ROOT, STATIC, VIEWPORT, UiServer, ensure_ui_built, screenshot

sys.path.insert(0, str(ROOT / "bench"))
import gen_calls  # noqa: E402

ROWS = int(os.environ.get("WIRETRACE_UI_PERF_ROWS", "1000000"))
DB = ROOT / "bench" / "results" / f"ui-perf-{ROWS}.db"
PERF_JSON = Path(__file__).resolve().parent / "perf.json"
TRACE_ID = "7a" * 16
TRACE_NODES = 200
SLACK = 3.0
TARGETS_MS = {"first_render": 1000.0, "filter": 300.0, "sort": 300.0, "trace_200": 500.0}
BUNDLE_BUDGET = 500 * 1024
RUNS = 3

results: dict[str, Any] = {"rows": ROWS, "targets_ms": TARGETS_MS}


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _span_id(n: int) -> str:
    return f"{0x7A00000000000000 + n:016x}"


def trace_spans() -> list[dict[str, object]]:
    """1 root, 19 steps, 180 leaves (9 or 10 per step): 200 spans, a realistic waterfall."""
    t0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    root: dict[str, object] = {
        "id": _span_id(0),
        "trace_id": TRACE_ID,
        "op_name": "eval.run",
        "status": "ok",
        "started_at": iso(t0),
        "inputs": {"dataset": "golden-200"},
        "output": {"score": 0.9},
    }
    spans = [root]
    at = t0 + timedelta(milliseconds=5)
    n = 1
    for step in range(19):
        step_span: dict[str, object] = {
            "id": _span_id(n),
            "trace_id": TRACE_ID,
            "parent_id": _span_id(0),
            "op_name": "eval.case",
            "status": "ok",
            "started_at": iso(at),
            "inputs": {"case": step},
            "output": {"ok": True},
        }
        spans.append(step_span)
        n += 1
        for leaf in range(10 if step < 9 else 9):
            spans.append(
                {
                    "id": _span_id(n),
                    "trace_id": TRACE_ID,
                    "parent_id": step_span["id"],
                    "op_name": "eval.judge",
                    "status": "error" if n % 37 == 0 else "ok",
                    "started_at": iso(at),
                    "ended_at": iso(at + timedelta(milliseconds=250 + 10 * leaf)),
                    "inputs": {"case": step, "judge": leaf, "text": "lorem ipsum " * 20},
                    "output": {"verdict": "pass"},
                }
            )
            n += 1
            at += timedelta(milliseconds=300)
        step_span["ended_at"] = iso(at)
        at += timedelta(milliseconds=2)
    root["ended_at"] = iso(at + timedelta(milliseconds=5))
    assert len(spans) == TRACE_NODES
    return spans


def _generated() -> None:
    rows = gen_calls.count_rows(DB)
    if rows in (ROWS, ROWS + TRACE_NODES):
        return
    started = time.perf_counter()
    gen_calls.generate(DB, ROWS, force=True)
    results["generate_s"] = round(time.perf_counter() - started, 1)


@pytest.fixture(scope="module")
def perf_server(upstream_url: str) -> Iterator[UiServer]:
    ensure_ui_built()
    _generated()
    server = UiServer(DB, upstream_url)
    try:
        server.post("/api/spans", {"spans": trace_spans()})
        yield server
    finally:
        server.stop()
        PERF_JSON.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nUI performance ({ROWS:,} calls): {json.dumps(results, indent=2)}")


def _api_ms(server: UiServer, path: str) -> float:
    started = time.perf_counter()
    with urllib.request.urlopen(server.url + path, timeout=120) as resp:
        resp.read()
    return round((time.perf_counter() - started) * 1000, 1)


def _fresh_page(browser: Browser) -> Page:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(30_000)
    return context.new_page()


def _settled(page: Page) -> None:
    page.wait_for_function(f"() => {IDLE}")


def _elapsed_until(page: Page, condition: str) -> float:
    """ms from ``window.__t0`` until ``condition`` (a JS expression) holds, polled per frame."""
    value = page.wait_for_function(
        f"() => ({condition}) ? performance.now() - window.__t0 : 0", polling="raf"
    ).json_value()
    return round(float(value), 1)


def _record(name: str, samples: list[float]) -> float:
    median = round(statistics.median(samples), 1)
    results[name] = {"median_ms": median, "samples_ms": samples}
    return median


ROW = "document.querySelector('[data-testid=call-row]')"
IDLE = (
    "document.querySelector('[data-testid=calls-table][aria-busy=false]')"
    " && document.querySelector('[data-testid=traces-page]').dataset.search"
    " === new URLSearchParams(location.search).toString()"
)


def test_traces_table_first_render(browser: Browser, perf_server: UiServer) -> None:
    results["api_ms"] = {
        "calls_first_page": _api_ms(perf_server, "/api/calls?limit=100"),
        "calls_model_filter": _api_ms(perf_server, "/api/calls?limit=100&model=gpt-4o"),
        "calls_sort_latency": _api_ms(perf_server, "/api/calls?limit=100&sort=-latency_ms"),
        "calls_sort_cost_asc": _api_ms(perf_server, "/api/calls?limit=100&sort=cost_usd"),
        "calls_status_error": _api_ms(perf_server, "/api/calls?limit=100&status=error"),
        "calls_roots_only": _api_ms(perf_server, "/api/calls?limit=100&roots_only=true"),
        "trace_200": _api_ms(perf_server, f"/api/traces/{TRACE_ID}"),
        "calls_q_common": _api_ms(perf_server, "/api/calls?limit=100&q=refund"),
        "calls_q_absent": _api_ms(perf_server, "/api/calls?limit=100&q=zq-not-in-any-call"),
    }
    samples = []
    for _ in range(RUNS):
        page = _fresh_page(browser)
        try:
            page.goto(perf_server.url + "/", wait_until="commit")
            value = page.wait_for_function(
                f"() => {ROW} ? performance.now() : 0", polling="raf"
            ).json_value()
            samples.append(round(float(value), 1))
        finally:
            page.context.close()
    median = _record("first_render", samples)
    assert median <= TARGETS_MS["first_render"] * SLACK, results


def _apply_filter(page: Page, model: str) -> float:
    page.get_by_test_id("filter-model").fill(model)
    page.evaluate("window.__t0 = performance.now()")
    page.get_by_test_id("filter-model").press("Enter")
    condition = (
        f"{IDLE} && [...document.querySelectorAll('[data-testid=cell-model]')]"
        f".every(c => c.textContent.trim() === '{model}') && {ROW}"
    )
    return _elapsed_until(page, condition)


def _apply_sort(page: Page, key: str) -> float:
    page.evaluate("window.__t0 = performance.now()")
    page.get_by_test_id(f"sort-{key}").click()
    return _elapsed_until(page, f"{IDLE} && location.search.includes('sort=-{key}') && {ROW}")


def test_filter_and_sort_apply_fast(browser: Browser, perf_server: UiServer) -> None:
    page = _fresh_page(browser)
    try:
        page.goto(perf_server.url + "/")
        _settled(page)
        filters = [_apply_filter(page, m) for m in ("gpt-4o", "gpt-4.1", "o3-mini")]
        page.goto(perf_server.url + "/")
        _settled(page)
        sorts = [_apply_sort(page, k) for k in ("latency_ms", "total_tokens", "cost_usd")]
        screenshot(page, "perf-traces-1m")
        # Informational: a sort on top of a filter (no composite index serves it).
        page.goto(perf_server.url + "/?model=o3-mini")
        _settled(page)
        both = [_apply_sort(page, k) for k in ("latency_ms", "total_tokens")]
        results["api_ms"]["filter_then_sort"] = {
            "model=o3-mini&sort=-latency_ms": _api_ms(
                perf_server, "/api/calls?limit=100&model=o3-mini&sort=-latency_ms"
            ),
            "model=gpt-4o&sort=-cost_usd": _api_ms(
                perf_server, "/api/calls?limit=100&model=gpt-4o&sort=-cost_usd"
            ),
        }
    finally:
        page.context.close()
    f, s = _record("filter", filters), _record("sort", sorts)
    _record("sort_on_filtered_info", both)
    assert f <= TARGETS_MS["filter"] * SLACK, results
    assert s <= TARGETS_MS["sort"] * SLACK, results


def test_open_a_200_node_trace(browser: Browser, perf_server: UiServer) -> None:
    samples = []
    for _ in range(RUNS):
        page = _fresh_page(browser)
        try:
            page.goto(perf_server.url + "/")
            _settled(page)
            page.evaluate("window.__t0 = performance.now()")
            # a client-side navigation, as a click on a row does
            page.evaluate(
                f"history.pushState(null, '', '/traces/{TRACE_ID}');"
                "dispatchEvent(new PopStateEvent('popstate'))"
            )
            # the tree is virtualised: usable once its first screen of rows is drawn
            ready = (
                "document.querySelectorAll('[data-testid=tree-node]').length >= 20"
                f" && document.body.textContent.includes('{TRACE_NODES} nodes')"
                " && document.querySelector('[data-testid=node-detail]')"
            )
            samples.append(_elapsed_until(page, ready))
            drawn = page.get_by_test_id("tree-node").count()
            assert drawn < TRACE_NODES, drawn
            page.get_by_test_id("trace-tree").evaluate("el => el.scrollTo(0, el.scrollHeight)")
            last = page.locator(f"[data-node-id='{_span_id(TRACE_NODES - 1)}']")
            last.wait_for()
            screenshot(page, "perf-trace-200")
        finally:
            page.context.close()
    median = _record("trace_200", samples)
    assert median <= TARGETS_MS["trace_200"] * SLACK, results


def test_bundle_size_within_budget() -> None:
    ensure_ui_built()
    assets = STATIC / "assets"
    gz = {p.name.removesuffix(".gz"): p.stat().st_size for p in assets.glob("*.gz")}
    index = (STATIC / "index.html").read_text()
    first_load = sum(size for name, size in gz.items() if f"/assets/{name}" in index)
    total = sum(gz.values())
    results["bundle_gzip_bytes"] = {"total": total, "first_load": first_load, "files": gz}
    assert first_load > 0, "index.html references no gzipped asset"
    assert total <= BUNDLE_BUDGET, results["bundle_gzip_bytes"]
