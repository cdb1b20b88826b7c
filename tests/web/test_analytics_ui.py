"""Compare, ops, models and the dashboard in a real browser against a real server.

The records these pages need are made the way users make them: two versions of an op (SDK
spans with their source code and ``wiretrace.Model`` attributes) and two real chat calls
through the proxy, one prompt (``Wiretrace-Name: report-summary``) in two versions. Every
assertion reads what the page shows and checks it against the API's own answer.
"""

from __future__ import annotations

import re
import secrets
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.web.conftest import HOSTILE_IMG, HOSTILE_SCRIPT, UiServer, screenshot

OP = "analytics.summarize"
MODEL = "AnalyticsSummarizer"
DOC = "Q3 report: revenue grew 12%, costs were flat, hiring paused in two teams."

SOURCE_V1 = """@wiretrace.op
def summarize(text: str) -> str:
    prompt = "Summarize in three bullet points:\\n" + text
    reply = llm(prompt, temperature=0.2)
    return reply.strip()
"""
SOURCE_V2 = """@wiretrace.op
def summarize(text: str, style: str = "one line") -> str:
    prompt = f"Summarize in {style}:\\n{text}"
    reply = llm(prompt, temperature=0.7)
    return reply.strip()
"""
OUTPUT_V1 = "- Revenue grew 12%\n- Costs were flat\n- Hiring paused in two teams"
OUTPUT_V2 = "Revenue up 12%, costs flat, hiring paused."
ATTRS_V1 = {"temperature": 0.2, "style": "bullets", "max_words": 50}
ATTRS_V2 = {"temperature": 0.7, "style": "one line", "max_words": 50, "language": "en"}
METHODS_V1 = {"predict": "def predict(self, text):\n    return self.llm(text)\n"}
METHODS_V2 = {"predict": "def predict(self, text):\n    return self.llm(text).strip()\n"}
SYSTEM_V1 = "You summarize reports in three bullet points."
SYSTEM_V2 = "You summarize reports in one short line."
PROMPT = "report-summary"
HOSTILE_OP = "analytics.hostile"
HOSTILE_MODEL = "AnalyticsHostile"


@dataclass
class Analytics:
    """Ids of the records this module made."""

    span_v1: str
    span_v2: str
    call_v1: str
    call_v2: str


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _span(
    span_id: str,
    at: datetime,
    name: str,
    source: str,
    attrs: dict[str, Any],
    methods: dict[str, str],
    output: str,
) -> dict[str, Any]:
    return {
        "id": span_id,
        "trace_id": secrets.token_hex(16),
        "op_name": OP,
        "display_name": name,
        "status": "ok",
        "started_at": _iso(at),
        "ended_at": _iso(at + timedelta(milliseconds=800 if name.endswith("1") else 1300)),
        "inputs": {"text": DOC},
        "output": output,
        "op_version": {
            "digest": secrets.token_hex(8),
            "source": source,
            "module": "reports",
            "qualname": "summarize",
        },
        "model_version": {
            "name": MODEL,
            "digest": secrets.token_hex(8),
            "attributes": attrs,
            "source": methods,
        },
    }


@pytest.fixture(scope="module")
def analytics(ui_server: UiServer) -> Analytics:
    # Two days ago: inside the dashboard's default week, behind the traces table's live rows.
    t0 = datetime.now(UTC) - timedelta(days=2)
    v1, v2 = secrets.token_hex(8), secrets.token_hex(8)
    spans = [
        _span(v1, t0, "summarize_v1", SOURCE_V1, ATTRS_V1, METHODS_V1, OUTPUT_V1),
        _span(
            v2,
            t0 + timedelta(minutes=5),
            "summarize_v2",
            SOURCE_V2,
            ATTRS_V2,
            METHODS_V2,
            OUTPUT_V2,
        ),
    ]
    # an op and a model whose second version carries markup, to be shown as text
    hostile = [
        _span(
            secrets.token_hex(8), t0, "plain", "def h():\n    return 1\n", {"note": "ok"}, {}, ""
        ),
        _span(
            secrets.token_hex(8),
            t0 + timedelta(minutes=1),
            HOSTILE_IMG,
            f"def h():\n    return '{HOSTILE_SCRIPT}'  # {HOSTILE_IMG}\n",
            {"note": HOSTILE_IMG, HOSTILE_SCRIPT: 1},
            {"h": HOSTILE_SCRIPT},
            HOSTILE_SCRIPT,
        ),
    ]
    for span in hostile:
        span["op_name"] = HOSTILE_OP
        span["model_version"]["name"] = HOSTILE_MODEL
    spans += hostile
    assert ui_server.post("/api/spans", {"spans": spans}) == {"accepted": 4}
    calls = []
    for system, model in ((SYSTEM_V1, "gpt-4o"), (SYSTEM_V2, "gpt-4o-mini")):
        messages = [{"role": "system", "content": system}, {"role": "user", "content": DOC}]
        headers = {"Wiretrace-Name": PROMPT}
        calls.append(ui_server.chat("", messages=messages, model=model, headers=headers))
    return Analytics(span_v1=v1, span_v2=v2, call_v1=calls[0], call_v2=calls[1])


def field_row(page: Page, path: str) -> Locator:
    return page.locator(f'[data-testid=compare-field][data-path="{path}"]')


def texts(locator: Locator) -> str:
    return "".join(locator.all_text_contents())


def query(page: Page) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)


# --- compare ---------------------------------------------------------------------------


def test_compare_two_op_versions_side_by_side(
    page: Page, ui_server: UiServer, analytics: Analytics
) -> None:
    page.goto(f"{ui_server.url}/compare?ids={analytics.span_v1},{analytics.span_v2}")
    columns = page.get_by_test_id("compare-column")
    expect(columns).to_have_count(2)
    assert [c.get_attribute("data-call-id") for c in columns.all()] == [
        analytics.span_v1,
        analytics.span_v2,
    ]
    expect(columns.nth(0)).to_contain_text("summarize_v1")
    expect(columns.nth(1)).to_contain_text("summarize_v2")

    # the output differs: the baseline as it is, the other as a word diff against it
    output = field_row(page, "output")
    expect(output).to_have_attribute("data-same", "false")
    cells = output.get_by_test_id("compare-cell")
    expect(cells).to_have_count(2)
    expect(cells.nth(0)).to_have_text(OUTPUT_V1)
    removed = texts(cells.nth(1).get_by_test_id("diff-removed"))
    added = texts(cells.nth(1).get_by_test_id("diff-added"))
    assert "grew" in removed and "up" not in removed, removed
    assert "up" in added and "grew" not in added, added
    # what the second call shows reads as its own output once the removed parts are dropped
    shown = cells.nth(1).evaluate(
        "el => [...el.querySelector('.an-difftext').childNodes]"
        ".filter(n => n.nodeName !== 'DEL').map(n => n.textContent).join('')"
    )
    assert shown == OUTPUT_V2

    # the same input is marked equal (folded away until asked for)
    same_input = field_row(page, "inputs.text")
    expect(same_input).to_have_count(0)
    page.get_by_test_id("compare-section-inputs").get_by_test_id("identical-toggle").click()
    expect(same_input).to_have_attribute("data-same", "true")
    expect(same_input.get_by_test_id("field-same")).to_be_visible()
    expect(same_input.get_by_test_id("compare-cell")).to_have_text(DOC)

    # latency: each column its value, the second with its delta against the first
    latency = field_row(page, "latency_ms")
    expect(latency.get_by_test_id("compare-cell").nth(0)).to_have_text("800 ms")
    expect(latency.get_by_test_id("metric-delta")).to_have_text("+500 ms (+63%)")
    expect(field_row(page, "op_version")).to_have_attribute("data-same", "false")
    # identical metrics other than the core ones fold away (no model on either span)
    expect(field_row(page, "model")).to_have_count(0)
    page.get_by_test_id("show-identical").check()
    expect(field_row(page, "model")).to_have_attribute("data-same", "true")
    page.get_by_test_id("show-identical").uncheck()
    screenshot(page, "compare_ops", full_page=True)


def test_compare_two_prompt_versions_shows_metric_deltas(
    page: Page, ui_server: UiServer, analytics: Analytics
) -> None:
    v1 = ui_server.get(f"/api/calls/{analytics.call_v1}")
    v2 = ui_server.get(f"/api/calls/{analytics.call_v2}")
    page.goto(f"{ui_server.url}/compare?ids={analytics.call_v1},{analytics.call_v2}")
    expect(page.get_by_test_id("compare-column")).to_have_count(2)
    screenshot(page, "compare_prompts", full_page=True)

    system = field_row(page, "inputs.messages[0].content")
    expect(system).to_have_attribute("data-same", "false")
    diff = system.get_by_test_id("compare-cell").nth(1)
    assert "three bullet points" in texts(diff.get_by_test_id("diff-removed"))
    assert "one short line" in texts(diff.get_by_test_id("diff-added"))

    # the fake upstream answers both the same: the answer is marked equal
    answer = field_row(page, "output.choices[0].message.content")
    expect(answer).to_have_count(0)
    page.get_by_test_id("show-identical").check()
    expect(answer).to_have_attribute("data-same", "true")

    model = field_row(page, "model")
    expect(model).to_have_attribute("data-same", "false")
    expect(model.get_by_test_id("compare-cell").nth(0)).to_have_text("gpt-4o")

    tokens = field_row(page, "usage.prompt_tokens")
    p1, p2 = v1["usage"]["prompt_tokens"], v2["usage"]["prompt_tokens"]
    expect(tokens.get_by_test_id("compare-cell").nth(0)).to_contain_text(f"{p1:,}")
    delta = p2 - p1
    expected = "±0" if delta == 0 else f"{'+' if delta > 0 else '-'}{abs(delta):,}"
    expect(tokens.get_by_test_id("metric-delta")).to_contain_text(expected)
    if v1["cost_usd"] is not None and v2["cost_usd"] is not None:
        cost = field_row(page, "cost_usd").get_by_test_id("metric-delta")
        expect(cost).to_contain_text("-" if v2["cost_usd"] < v1["cost_usd"] else "+")

    # the second call as the baseline: the ids swap and the deltas flip
    page.get_by_test_id("make-baseline").click()
    page.wait_for_url(re.compile(rf"ids={analytics.call_v2}"))
    assert query(page)["ids"] == [f"{analytics.call_v2},{analytics.call_v1}"]
    page.locator("[data-testid=compare-page][aria-busy=false]").wait_for()
    expect(page.get_by_test_id("compare-column").first).to_have_attribute(
        "data-call-id", analytics.call_v2
    )
    diff = field_row(page, "inputs.messages[0].content").get_by_test_id("compare-cell").nth(1)
    assert "one short line" in texts(diff.get_by_test_id("diff-removed"))


def test_compare_renders_hostile_values_as_text(page: Page, ui_server: UiServer) -> None:
    s = ui_server.seeded
    page.goto(f"{ui_server.url}/compare?ids={s.trace_call_id},{s.hostile_id}")
    prompt = field_row(page, "inputs.messages[0].content")
    expect(prompt).to_have_attribute("data-same", "false")
    added = texts(prompt.get_by_test_id("diff-added"))
    assert "<script>" in added and "onerror" in added, added
    page.get_by_test_id("conversations-toggle").click()
    expect(page.get_by_test_id("compare-conversation")).to_have_count(2)
    expect(page.get_by_test_id("compare-conversation").nth(1)).to_contain_text(HOSTILE_SCRIPT)
    expect(page.get_by_test_id("compare-conversation").nth(1)).to_contain_text(HOSTILE_IMG)
    table = page.get_by_test_id("compare-table")
    assert table.locator("script, img").count() == 0
    assert page.locator("img[src=x]").count() == 0
    assert page.evaluate("window.__pwned") is None
    screenshot(page, "compare_hostile")


def test_compare_huge_prompt_is_clipped(page: Page, ui_server: UiServer) -> None:
    s = ui_server.seeded
    page.goto(f"{ui_server.url}/compare?ids={s.stream_id},{s.big_id}")
    prompt = field_row(page, "inputs.messages[0].content")
    expect(prompt).to_have_attribute("data-same", "false", timeout=20_000)
    cell = prompt.get_by_test_id("compare-cell").nth(1)
    expect(cell).to_contain_text("show more")
    length = cell.evaluate("el => el.textContent.length")
    assert length < 50_000, length


def test_compare_without_ids_picks_recent_calls(
    page: Page, ui_server: UiServer, analytics: Analytics
) -> None:
    page.goto(f"{ui_server.url}/compare")
    expect(page.get_by_test_id("compare-picker")).to_be_visible()
    go = page.get_by_test_id("compare-go")
    expect(go).to_be_disabled()
    page.get_by_test_id("compare-ids-input").fill(f"{analytics.call_v1}, {analytics.call_v2}")
    go.click()
    page.wait_for_url(re.compile(r"/compare\?ids="))
    assert query(page)["ids"] == [f"{analytics.call_v1},{analytics.call_v2}"]
    expect(page.get_by_test_id("compare-column")).to_have_count(2)


# --- ops -------------------------------------------------------------------------------


def test_ops_list_and_version_diff(page: Page, ui_server: UiServer, analytics: Analytics) -> None:
    page.goto(f"{ui_server.url}/ops")
    row = page.locator(f'[data-testid=op-row][data-op="{OP}"]')
    expect(row.get_by_test_id("op-version-count")).to_have_text("2")
    screenshot(page, "ops")
    row.get_by_role("link", name=OP).click()
    page.wait_for_url(re.compile(r"/ops/analytics\.summarize"))

    versions = page.get_by_test_id("op-version")
    expect(versions).to_have_count(2)
    api = ui_server.get(f"/api/ops/{OP}/versions")["versions"]
    assert [v["source"] for v in api] == [SOURCE_V1, SOURCE_V2]
    # each version's calls: the traces table filtered by the URL
    link = versions.nth(0).get_by_test_id("op-version-calls")
    href = link.get_attribute("href") or ""
    params = urllib.parse.parse_qs(urllib.parse.urlparse(href).query)
    assert params == {"op_name": [OP], "op_version": [api[0]["digest"]]}

    # default diff: v1 -> v2, removed and added lines
    diff = page.get_by_test_id("version-diff")
    removed = diff.locator("[data-testid=diff-removed] .an-code").all_text_contents()
    added = diff.locator("[data-testid=diff-added] .an-code").all_text_contents()
    assert removed == [
        "def summarize(text: str) -> str:",
        '    prompt = "Summarize in three bullet points:\\n" + text',
        "    reply = llm(prompt, temperature=0.2)",
    ]
    assert added == [
        'def summarize(text: str, style: str = "one line") -> str:',
        '    prompt = f"Summarize in {style}:\\n{text}"',
        "    reply = llm(prompt, temperature=0.7)",
    ]
    expect(diff.get_by_test_id("version-diff-stats")).to_have_text("+3 -3")
    # the latest version's source, as text
    expect(page.get_by_test_id("op-source")).to_be_visible()
    assert page.get_by_test_id("op-source").text_content() == SOURCE_V2
    # its calls, listed
    expect(page.get_by_test_id("version-call")).to_have_count(1)
    screenshot(page, "op_versions", full_page=True)

    # swap: the same lines, the other way round, and the URL says so
    page.get_by_test_id("diff-swap").click()
    expect(diff.locator("[data-testid=diff-added] .an-code").first).to_have_text(
        "def summarize(text: str) -> str:"
    )
    assert query(page)["from"] == ["2"] and query(page)["to"] == ["1"]
    page.reload()
    expect(page.get_by_test_id("diff-from")).to_have_value("2")

    # showing v1 lists its own source
    versions.nth(0).get_by_test_id("op-version-show").click()
    expect(page.get_by_test_id("op-source")).to_contain_text("three bullet points")


def test_prompt_families_show_template_diffs(
    page: Page, ui_server: UiServer, analytics: Analytics
) -> None:
    families = ui_server.get("/api/prompts")["prompts"]
    family = next(f for f in families if f["name"] == PROMPT)
    assert len(family["versions"]) == 2
    page.goto(f"{ui_server.url}/ops")
    rows = page.get_by_test_id("prompt-row")
    expect(rows).to_have_count(len(families))
    rows.filter(has_text=PROMPT).get_by_role("button", name=PROMPT).click()
    assert query(page)["prompt"] == [PROMPT]
    box = page.get_by_test_id("prompt-family")
    expect(box.get_by_test_id("prompt-version")).to_have_count(2)
    diff = box.get_by_test_id("version-diff")
    assert SYSTEM_V1 in texts(diff.locator("[data-testid=diff-removed] .an-code"))
    assert SYSTEM_V2 in texts(diff.locator("[data-testid=diff-added] .an-code"))
    screenshot(page, "prompt_family", full_page=True)


def test_ops_and_models_render_hostile_source_and_attributes_as_text(
    page: Page, ui_server: UiServer, analytics: Analytics
) -> None:
    page.goto(f"{ui_server.url}/ops/{HOSTILE_OP}")
    diff = page.get_by_test_id("version-diff")
    expect(diff.get_by_test_id("diff-added").first).to_be_visible()
    added = texts(diff.locator("[data-testid=diff-added] .an-code"))
    assert HOSTILE_SCRIPT in added and HOSTILE_IMG in added, added
    assert HOSTILE_SCRIPT in (page.get_by_test_id("op-source").text_content() or "")
    assert page.locator("main script, main img").count() == 0
    page.goto(f"{ui_server.url}/models/{HOSTILE_MODEL}")
    changes = page.get_by_test_id("attribute-diff")
    expect(changes).to_contain_text(HOSTILE_IMG)
    expect(changes).to_contain_text(HOSTILE_SCRIPT)
    expect(page.get_by_test_id("method-diff")).to_contain_text(HOSTILE_SCRIPT)
    assert page.locator("main script, main img").count() == 0
    assert page.evaluate("window.__pwned") is None


# --- models ----------------------------------------------------------------------------


def test_model_versions_list_attributes_and_diff(
    page: Page, ui_server: UiServer, analytics: Analytics
) -> None:
    page.goto(f"{ui_server.url}/models")
    row = page.locator(f'[data-testid=model-row][data-model="{MODEL}"]')
    expect(row).to_contain_text("2")
    row.get_by_role("link", name=MODEL).click()
    page.wait_for_url(re.compile(rf"/models/{MODEL}"))

    versions = page.get_by_test_id("model-version")
    expect(versions).to_have_count(2)
    for version, attrs in zip(versions.all(), (ATTRS_V1, ATTRS_V2), strict=True):
        shown = {
            a.get_attribute("data-name"): a.locator("td").inner_text()
            for a in version.get_by_test_id("model-attribute").all()
        }
        assert shown == {k: str(v) for k, v in attrs.items()}, shown

    diff = page.get_by_test_id("attribute-diff")
    changes = {
        c.get_attribute("data-name"): c.get_attribute("data-change")
        for c in diff.get_by_test_id("attribute-change").all()
    }
    assert changes == {"temperature": "changed", "style": "changed", "language": "added"}
    expect(diff.locator("[data-name=language] [data-testid=diff-added]")).to_have_text("en")
    method = page.locator("[data-testid=method-diff][data-method=predict]")
    expect(method.locator("[data-testid=diff-added] .an-code")).to_have_text(
        "    return self.llm(text).strip()"
    )
    expect(page.get_by_test_id("model-version-detail")).to_contain_text("language")
    screenshot(page, "model_versions", full_page=True)


# --- dashboard -------------------------------------------------------------------------


def card_number(page: Page, testid: str) -> float:
    text = page.get_by_test_id(testid).inner_text()
    return float(text.replace(",", "").replace("$", "").replace("%", ""))


def check_totals_match_api(page: Page, ui_server: UiServer) -> dict[str, Any]:
    # the answer to the current URL, not the previous range's (kept on screen meanwhile)
    page.wait_for_function(
        """() => {
            const q = new URLSearchParams(location.search);
            const want = new URLSearchParams();
            for (const k of ["kind", "project"]) if (q.get(k)) want.set(k, q.get(k));
            const page = document.querySelector("[data-testid=dashboard-page]");
            const range = document.querySelector("[data-testid=dashboard-range]");
            const totals = document.querySelector("[data-testid=dashboard-totals]");
            return page && range && totals && page.getAttribute("aria-busy") === "false"
                && totals.dataset.since === range.dataset.since
                && totals.dataset.filters === want.toString();
        }"""
    )
    totals_el = page.get_by_test_id("dashboard-totals")
    expect(totals_el).to_be_visible()
    since = totals_el.get_attribute("data-since") or ""
    until = totals_el.get_attribute("data-until") or ""
    filters = dict(urllib.parse.parse_qsl(totals_el.get_attribute("data-filters") or ""))
    assert filters == {k: v[0] for k, v in query(page).items() if k in ("kind", "project")}
    q = urllib.parse.urlencode({"group_by": "model", "since": since, "until": until, **filters})
    totals: dict[str, Any] = ui_server.get(f"/api/stats?{q}")["totals"]
    assert totals["calls"] > 0
    assert card_number(page, "dashboard-total-calls") == totals["calls"]
    assert card_number(page, "dashboard-total-tokens") == totals["total_tokens"]
    assert card_number(page, "dashboard-prompt-tokens") == totals["prompt_tokens"]
    assert card_number(page, "dashboard-completion-tokens") == totals["completion_tokens"]
    assert card_number(page, "dashboard-total-errors") == totals["errors"]
    assert card_number(page, "dashboard-error-rate") == round(totals["error_rate"] * 100, 2)
    if totals["cost_usd"] is None:
        expect(page.get_by_test_id("dashboard-total-cost")).to_have_text("—")
    else:
        assert card_number(page, "dashboard-total-cost") == totals["cost_usd"]
    return totals


CHARTS = ("chart-calls", "chart-tokens", "chart-cost", "chart-latency", "chart-errors")


def test_dashboard_charts_and_totals_for_the_last_week(
    page: Page, ui_server: UiServer, analytics: Analytics
) -> None:
    page.goto(f"{ui_server.url}/dashboard")
    totals = check_totals_match_api(page, ui_server)
    for chart in CHARTS:
        expect(page.get_by_test_id(chart).locator("svg.recharts-surface").first).to_be_visible()
    bars = page.get_by_test_id("chart-calls").locator(".recharts-bar-rectangle path")
    expect(bars.first).to_be_attached()
    expect(
        page.get_by_test_id("chart-latency").locator("path.recharts-curve").first
    ).to_be_attached()
    # models stacked: the legend names the top models the API reports
    q = urllib.parse.urlencode(
        {
            "group_by": "model",
            "since": page.get_by_test_id("dashboard-totals").get_attribute("data-since") or "",
            "until": page.get_by_test_id("dashboard-totals").get_attribute("data-until") or "",
        }
    )
    models = [g["key"] for g in ui_server.get(f"/api/stats?{q}")["groups"] if g["key"]][:5]
    legend = page.get_by_test_id("chart-calls").locator(".recharts-legend-item-text")
    expect(legend.first).to_be_visible()
    names = legend.all_text_contents()
    assert names[: len(models)] == models, names
    if totals["cost_usd"] is not None:
        expect(page.get_by_test_id("chart-top-ops").locator("svg.recharts-surface")).to_be_visible()
    screenshot(page, "dashboard", full_page=True)

    # the range lives in the URL
    page.get_by_test_id("range-24h").click()
    page.wait_for_url(re.compile(r"range=24h"))
    expect(page.get_by_test_id("range-24h")).to_have_attribute("aria-pressed", "true")
    all_calls = check_totals_match_api(page, ui_server)

    # only LLM calls, then only ops: each the API's totals for that kind, adding up to all
    page.get_by_test_id("kind-llm").click()
    page.wait_for_url(re.compile(r"kind=llm"))
    assert query(page)["range"] == ["24h"]
    llm = check_totals_match_api(page, ui_server)
    page.get_by_test_id("kind-op").click()
    page.wait_for_url(re.compile(r"kind=op"))
    ops = check_totals_match_api(page, ui_server) if all_calls["calls"] > llm["calls"] else None
    if ops is not None:
        assert llm["calls"] + ops["calls"] == all_calls["calls"]
    page.get_by_test_id("range-7d").click()
    page.wait_for_url(re.compile(r"range=7d"))
    assert query(page)["kind"] == ["op"]  # the filter survives a range change
    ops_week = check_totals_match_api(page, ui_server)
    assert ops_week["calls"] >= 4  # this module's spans, two days ago
    assert ops_week["total_tokens"] == 0


def test_dashboard_custom_range_picker(page: Page, ui_server: UiServer) -> None:
    page.goto(f"{ui_server.url}/dashboard?range=30d")
    expect(page.get_by_test_id("range-30d")).to_have_attribute("aria-pressed", "true")
    page.get_by_test_id("range-custom").click()
    page.get_by_test_id("range-since").fill("2026-01-10T00:00")
    page.get_by_test_id("range-until").fill("2026-01-13T00:00")
    page.get_by_test_id("range-apply").click()
    page.wait_for_url(re.compile(r"range=custom"))
    since = query(page)["since"][0]
    expect(page.get_by_test_id("dashboard-range")).to_have_attribute("data-since", since)
    expect(page.get_by_test_id("dashboard-range")).to_have_attribute("data-bucket", "hour")
    check_totals_match_api(page, ui_server)
    # the range survives a reload (it is the URL)
    page.reload()
    expect(page.get_by_test_id("range-custom")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("dashboard-range")).to_have_attribute("data-since", since)


def test_dashboard_custom_range_by_day(page: Page, ui_server: UiServer) -> None:
    # the seed.build records: January 2026
    url = "/dashboard?range=custom&since=2026-01-01T00:00:00Z&until=2026-02-01T00:00:00Z"
    page.goto(ui_server.url + url)
    expect(page.get_by_test_id("dashboard-range")).to_have_attribute("data-bucket", "day")
    totals = check_totals_match_api(page, ui_server)
    january = {"since": "2026-01-01T00:00:00Z", "until": "2026-02-01T00:00:00Z"}
    listed = ui_server.get("/api/calls?" + urllib.parse.urlencode({**january, "limit": 1000}))
    assert totals["calls"] == len(listed["calls"]) > 0
    for chart in (*CHARTS, "chart-top-ops"):
        expect(page.get_by_test_id(chart).locator("svg.recharts-surface").first).to_be_visible()
    q = urllib.parse.urlencode({"group_by": "op_name", "sort": "cost_usd", **january})
    ops = ui_server.get(f"/api/stats?{q}")["groups"]
    priced = [g["key"] for g in ops if g["cost_usd"]]
    labels = page.get_by_test_id("chart-top-ops").locator(
        ".recharts-yAxis-tick-labels .recharts-cartesian-axis-tick-value"
    )
    expect(labels).to_have_count(len(priced[:10]))
    assert labels.all_text_contents() == priced[:10]
    screenshot(page, "dashboard_custom", full_page=True)


def test_dashboard_opens_on_a_range_that_fits_the_calls(
    page: Page, tmp_path: Path, upstream_url: str
) -> None:
    """A new user's first calls fill the charts: with calls from the last minutes only,
    the dashboard opens on the last hour (not a sliver of the last week); a range in the
    URL still wins."""
    server = UiServer(tmp_path / "wiretrace.db", upstream_url)
    try:
        for i in range(3):
            server.chat(f"first call {i}")
        page.goto(f"{server.url}/dashboard")
        line = page.get_by_test_id("dashboard-range")
        expect(line).to_have_attribute("data-choice", "1h")
        expect(line).to_have_attribute("data-fitted", "true")
        expect(page.get_by_test_id("range-1h")).to_have_attribute("aria-pressed", "true")
        expect(page.get_by_test_id("dashboard-total-calls")).to_have_text("3")
        assert "range" not in query(page)
        page.goto(f"{server.url}/dashboard?range=7d")
        expect(line).to_have_attribute("data-choice", "7d")
        expect(line).to_have_attribute("data-fitted", "false")
        expect(page.get_by_test_id("dashboard-total-calls")).to_have_text("3")
    finally:
        server.stop()


def test_dashboard_empty_state(page: Page, empty_server: UiServer) -> None:
    page.goto(f"{empty_server.url}/dashboard")
    expect(page.get_by_test_id("dashboard-empty")).to_be_visible()
    expect(page.get_by_test_id("dashboard-total-calls")).to_have_count(0)
    page.goto(f"{empty_server.url}/ops")
    expect(page.get_by_test_id("ops-empty")).to_be_visible()
    page.goto(f"{empty_server.url}/models")
    expect(page.get_by_test_id("models-empty")).to_be_visible()
    screenshot(page, "models_empty")
