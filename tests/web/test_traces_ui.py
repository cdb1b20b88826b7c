"""The traces table, trace view and call detail in a real browser against a real server.

Each test acts as a user would (click, type, go back) and asserts what the user sees.
"""

from __future__ import annotations

import json
import re
import urllib.parse

from playwright.sync_api import Page, expect

from tests.web.conftest import (
    HOSTILE_IMG,
    HOSTILE_SCRIPT,
    TOOL_ARGS,
    UiServer,
    screenshot,
)


def rows(page: Page) -> list[dict[str, str]]:
    """The visible table rows as {column: text}."""
    values: list[dict[str, str]] = page.eval_on_selector_all(
        "[data-testid=call-row]",
        """els => els.map(el => Object.fromEntries(
            [...el.querySelectorAll('[data-testid^=cell-]')]
              .map(c => [c.dataset.testid.slice(5), c.textContent.trim()])
            .concat([['id', el.dataset.callId]])))""",
    )
    return values


def settled(page: Page) -> None:
    """Wait until the table shows the answer to the current URL: React has rendered this
    URL (router updates are transitions, so the address bar can be ahead of the page) and
    no request for it is in flight."""
    page.wait_for_function(
        """() => {
            const p = document.querySelector('[data-testid=traces-page]');
            const t = document.querySelector('[data-testid=calls-table]');
            return p && t && t.getAttribute('aria-busy') === 'false'
                && p.dataset.search === new URLSearchParams(location.search).toString();
        }"""
    )


def query(page: Page) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)


def number(text: str) -> float:
    """A formatted cell back to a number (ms, s, $, thousands separators); NaN for a dash."""
    cleaned = text.replace(",", "").replace("$", "").strip()
    if cleaned in ("—", ""):
        return float("nan")
    match = re.fullmatch(r"([\d.e-]+)\s*(ms|s)?", cleaned)
    assert match, f"not a number: {text!r}"
    value = float(match.group(1))
    return value * 1000 if match.group(2) == "s" else value


def test_table_lists_calls_newest_first_with_every_column(page: Page, ui_server: UiServer) -> None:
    page.goto(ui_server.url + "/")
    expect(page.get_by_test_id("call-row").first).to_be_visible()
    headers = page.locator("[role=columnheader]").all_inner_texts()
    for name in ("op", "model", "status", "started", "latency", "ttft", "prompt", "compl."):
        assert any(h.startswith(name) for h in headers), (name, headers)
    for name in ("tokens", "cost", "session", "user"):
        assert any(h.startswith(name) for h in headers), (name, headers)
    first = rows(page)
    # the SDK trace and the real traffic are today; the seed.build records are January 2026
    ids = [r["id"] for r in first]
    s = ui_server.seeded
    assert ids.index(s.hostile_id) < ids.index(s.stream_id) < ids.index(s.chat_id)
    chat = next(r for r in first if r["id"] == s.chat_id)
    assert chat["model"] == "gpt-4o" and chat["status"] == "ok"
    assert chat["session"] == "sess-ui-1" and chat["user"] == "alice"
    assert number(chat["total"]) == number(chat["prompt"]) + number(chat["completion"]) > 0
    error = next(r for r in first if r["id"] == s.error_id)
    assert error["status"].startswith("error")
    # costs read alike down the column: dollars, no exponent notation
    costs = page.get_by_test_id("cell-cost").all_inner_texts()
    assert any(c.startswith("$") for c in costs), costs
    for cost in costs:
        assert re.fullmatch(r"—|\$0|<\$0\.00000001|-?\$[0-9,]+(\.[0-9]+)?", cost), costs
    screenshot(page, "traces")


def test_filter_by_model_and_status_changes_rows_and_url(page: Page, ui_server: UiServer) -> None:
    page.goto(ui_server.url + "/")
    expect(page.get_by_test_id("call-row").first).to_be_visible()
    before = [r["id"] for r in rows(page)]
    page.get_by_test_id("filter-model").fill("gpt-4o-mini")
    page.get_by_test_id("filter-model").press("Enter")
    expect(page.get_by_test_id("filter-chip")).to_have_count(1)
    settled(page)
    filtered = rows(page)
    assert filtered and {r["model"] for r in filtered} == {"gpt-4o-mini"}
    assert [r["id"] for r in filtered] != before
    assert query(page)["model"] == ["gpt-4o-mini"]

    page.get_by_test_id("filter-status").select_option("error")
    expect(page.get_by_test_id("filter-chip")).to_have_count(2)
    settled(page)
    both = rows(page)
    assert [r["id"] for r in both] == [ui_server.seeded.error_id]
    assert both[0]["model"] == "gpt-4o-mini" and both[0]["status"].startswith("error")
    assert query(page)["status"] == ["error"]

    # the back button undoes one filter at a time, and the table follows
    page.go_back()
    expect(page.get_by_test_id("filter-status")).to_have_value("")
    settled(page)
    assert [r["id"] for r in rows(page)] == [r["id"] for r in filtered]
    assert "status" not in query(page)
    page.go_back()
    expect(page.get_by_test_id("filter-chip")).to_have_count(0)
    expect(page.get_by_test_id("filter-model")).to_have_value("")
    settled(page)
    assert [r["id"] for r in rows(page)] == before

    # a shared link shows the same filtered table
    page.goto(ui_server.url + "/?model=gpt-4o-mini&status=error")
    settled(page)
    assert [r["id"] for r in rows(page)] == [ui_server.seeded.error_id]


def test_filter_by_session_property_and_text(page: Page, ui_server: UiServer) -> None:
    s = ui_server.seeded
    page.goto(ui_server.url + "/")
    page.get_by_test_id("call-row").filter(has_text="sess-ui-1").first.get_by_test_id(
        "filter-by-session"
    ).click()
    page.wait_for_url(re.compile(r"session_id=sess-ui-1"))
    expect(page.get_by_test_id("call-row")).to_have_count(1)
    assert rows(page)[0]["id"] == s.chat_id

    page.goto(ui_server.url + "/?property.env=staging")
    expect(page.get_by_test_id("call-row").first).to_be_visible()
    settled(page)
    staging = [r["id"] for r in rows(page)]  # the rows in view (the list is virtualised)
    api = ui_server.get("/api/calls?property.env=staging&limit=1000")
    assert len(api["calls"]) > 10
    assert staging == [c["id"] for c in api["calls"]][: len(staging)]

    page.goto(ui_server.url + "/")
    page.get_by_test_id("filter-q").fill("BIGPROMPT")
    page.get_by_test_id("filter-q").press("Enter")
    expect(page.get_by_test_id("call-row")).to_have_count(1)
    assert rows(page)[0]["id"] == s.big_id

    page.get_by_test_id("more-filters").click()
    page.get_by_test_id("filter-q").fill("")
    page.get_by_test_id("filter-q").press("Enter")
    page.get_by_test_id("filter-min_tokens").fill("1500")
    page.get_by_test_id("filter-min_tokens").press("Enter")
    page.wait_for_url(re.compile(r"min_tokens=1500"))
    page.wait_for_function(
        """() => { const c = [...document.querySelectorAll('[data-testid=cell-total]')]
                     .map(x => Number(x.textContent.replace(/,/g, '')));
                   return c.length > 0 && c.every(n => n >= 1500); }"""
    )
    assert all(number(r["total"]) >= 1500 for r in rows(page))


def test_no_match_offers_to_clear_filters(page: Page, ui_server: UiServer) -> None:
    page.goto(ui_server.url + "/?user_id=nobody-has-this-id")
    expect(page.get_by_test_id("no-results")).to_be_visible()
    page.get_by_test_id("clear-filters").click()
    expect(page.get_by_test_id("call-row").first).to_be_visible()
    assert "user_id" not in query(page)


def test_sort_by_each_numeric_column_orders_rows(page: Page, ui_server: UiServer) -> None:
    page.goto(ui_server.url + "/")
    expect(page.get_by_test_id("call-row").first).to_be_visible()
    for key, cell in (
        ("latency_ms", "latency"),
        ("total_tokens", "total"),
        ("cost_usd", "cost"),
        ("prompt_tokens", "prompt"),
    ):
        page.get_by_test_id(f"sort-{key}").click()
        page.wait_for_url(re.compile(f"sort=-{key}"))
        settled(page)
        expect(page.get_by_test_id(f"sort-{key}")).to_contain_text("▼")
        page.wait_for_function(
            """cell => { const v = [...document.querySelectorAll('[data-testid=cell-' + cell + ']')]
                         .map(c => c.textContent.trim()).filter(t => t !== '—');
                       return v.length > 1; }""",
            arg=cell,
        )
        values = [number(r[cell]) for r in rows(page)]
        known = [v for v in values if v == v]
        assert known == sorted(known, reverse=True), (key, values)
        # NULLs (dashes) come last
        first_dash = next((i for i, v in enumerate(values) if v != v), len(values))
        assert all(v != v for v in values[first_dash:]), (key, values)
        # click again: ascending
        page.get_by_test_id(f"sort-{key}").click()
        page.wait_for_url(re.compile(f"sort={key}(&|$)"))
        settled(page)
        up = [v for v in (number(r[cell]) for r in rows(page)) if v == v]
        assert up == sorted(up), (key, up)
    screenshot(page, "traces-sorted")
    page.go_back()
    page.wait_for_url(re.compile(r"sort=-prompt_tokens"))


def test_sort_by_each_text_column_orders_rows(page: Page, ui_server: UiServer) -> None:
    page.goto(ui_server.url + "/")
    expect(page.get_by_test_id("call-row").first).to_be_visible()
    for key, cell in (("model", "model"), ("op_name", None), ("session_id", "session")):
        firsts = []
        for direction in ("-", ""):
            page.get_by_test_id(f"sort-{key}").click()
            page.wait_for_url(re.compile(f"sort={re.escape(direction + key)}(&|$)"))
            settled(page)
            shown = rows(page)
            # the rows are the API's order for this sort (the op cell shows display names)
            api = ui_server.get(f"/api/calls?sort={direction}{key}&limit={len(shown)}")["calls"]
            assert [r["id"] for r in shown] == [c["id"] for c in api], key
            values = [c[key] for c in api]
            known = [v for v in values if v is not None]
            assert known == sorted(known, reverse=direction == "-"), (key, direction, values)
            assert all(v is None for v in values[len(known) :]), (key, values)  # NULLs last
            if cell is not None:
                assert [r[cell] for r in shown] == [v or "—" for v in values]
            firsts.append(known[0])
        assert firsts[0] > firsts[1], (key, firsts)  # largest first, then smallest first


def test_roots_only_shows_one_row_per_trace(page: Page, ui_server: UiServer) -> None:
    s = ui_server.seeded
    page.goto(ui_server.url + "/?q=retrieved%20passages")
    expect(page.get_by_test_id("call-row")).to_have_count(1)
    assert rows(page)[0]["id"] == s.trace_call_id  # the LLM call inside the SDK trace
    page.goto(ui_server.url + "/")
    page.get_by_test_id("filter-roots_only").check()
    page.wait_for_url(re.compile(r"roots_only=true"))
    settled(page)
    page.wait_for_function(
        """id => [...document.querySelectorAll('[data-testid=call-row]')]
                  .some(r => r.dataset.callId === id)""",
        arg=s.root_span_id,
    )
    ids = [r["id"] for r in rows(page)]
    assert s.trace_call_id not in ids
    api = ui_server.get("/api/calls?roots_only=true&limit=100")
    assert ids[: len(api["calls"])] == [c["id"] for c in api["calls"]][: len(ids)]


def test_scrolling_loads_further_pages(page: Page, ui_server: UiServer) -> None:
    total = len(ui_server.get("/api/calls?limit=1000")["calls"])
    assert total > 100, "the seeded database should span more than one page"
    page.goto(ui_server.url + "/")
    expect(page.get_by_test_id("call-row").first).to_be_visible()
    assert page.get_by_test_id("row-count").inner_text().endswith("+ calls")
    for _ in range(20):
        page.get_by_test_id("calls-scroll").evaluate("el => el.scrollTo(0, el.scrollHeight)")
        if page.get_by_test_id("row-count").inner_text() == f"{total} calls":
            break
        page.wait_for_timeout(100)
    expect(page.get_by_test_id("row-count")).to_have_text(f"{total} calls")
    # virtualised: only a screenful of rows is in the DOM
    assert page.get_by_test_id("call-row").count() < 60


def test_select_rows_and_compare(page: Page, ui_server: UiServer) -> None:
    page.goto(ui_server.url + "/")
    expect(page.get_by_test_id("call-row").first).to_be_visible()
    button = page.get_by_test_id("compare-button")
    expect(button).to_be_disabled()
    boxes = page.get_by_test_id("row-select")
    boxes.nth(0).check()
    expect(button).to_be_disabled()
    for i in range(1, 4):
        boxes.nth(i).check()
    expect(button).to_be_enabled()
    expect(boxes.nth(4)).to_be_disabled()  # at most 4
    ids = [r["id"] for r in rows(page)][:4]
    button.click()
    page.wait_for_url(re.compile(r"/compare\?ids="))
    assert query(page)["ids"] == [",".join(ids)]


def test_trace_view_tree_waterfall_collapse_and_detail(page: Page, ui_server: UiServer) -> None:
    s = ui_server.seeded
    page.goto(f"{ui_server.url}/traces/{s.trace_id}")
    tree = page.get_by_test_id("trace-tree")
    nodes = tree.get_by_test_id("tree-node")
    expect(nodes).to_have_count(4)
    names = nodes.evaluate_all("ns => ns.map(n => n.querySelector('.tree-name').textContent)")
    assert names == [
        "pipeline.run",
        "pipeline.retrieve",
        "pipeline.generate",
        "openai.chat.completions.create",
    ]
    depths = nodes.evaluate_all("ns => ns.map(n => Number(n.dataset.depth))")
    assert depths == [0, 1, 1, 2]
    bars = page.get_by_test_id("waterfall-bar")
    expect(bars).to_have_count(4)
    boxes = [bars.nth(i).bounding_box() for i in range(4)]
    assert all(b is not None for b in boxes)
    root, retrieve, generate, _llm = (b for b in boxes if b is not None)
    assert root["width"] > retrieve["width"] and root["width"] > generate["width"]
    assert retrieve["x"] + retrieve["width"] <= generate["x"] + 1  # retrieve ends first
    assert (
        generate["x"] >= root["x"]
        and generate["x"] + generate["width"] <= root["x"] + root["width"] + 1
    )
    # the root is selected by default and its detail is shown
    expect(page.get_by_test_id("node-detail")).to_contain_text("pipeline.run")
    screenshot(page, "trace")

    # collapse the generate span: the LLM call under it disappears
    nodes.nth(2).get_by_test_id("tree-toggle").click()
    expect(nodes).to_have_count(3)
    nodes.nth(2).get_by_test_id("tree-toggle").click()
    expect(nodes).to_have_count(4)
    page.get_by_test_id("collapse-all").click()
    expect(nodes).to_have_count(1)
    page.get_by_test_id("expand-all").click()
    expect(nodes).to_have_count(4)

    # selecting the LLM node shows its conversation
    nodes.nth(3).click()
    page.wait_for_url(re.compile(f"node={s.trace_call_id}"))
    detail = page.get_by_test_id("node-detail")
    expect(detail.get_by_test_id("input-messages")).to_contain_text("retrieved passages")
    expect(detail.get_by_test_id("output-messages")).to_contain_text("fake upstream says hi")
    expect(detail.get_by_test_id("feedback")).to_be_visible()
    screenshot(page, "trace-llm-selected")


def test_clicking_a_row_opens_its_trace_with_it_selected(page: Page, ui_server: UiServer) -> None:
    s = ui_server.seeded
    page.goto(ui_server.url + "/?q=retrieved%20passages")
    page.get_by_test_id("call-row").first.click()
    page.wait_for_url(re.compile(f"/traces/{s.trace_id}\\?node={s.trace_call_id}"))
    selected = page.locator("[data-testid=tree-node][aria-selected=true]")
    expect(selected).to_have_attribute("data-node-id", s.trace_call_id)
    page.get_by_test_id("open-call").click()
    page.wait_for_url(re.compile(f"/calls/{s.trace_call_id}$"))
    expect(page.get_by_test_id("call-detail")).to_be_visible()
    # from the keyboard: Space selects a focused row, Enter opens it
    page.go_back()
    page.go_back()
    row = page.get_by_test_id("call-row").first
    row.focus()
    page.keyboard.press(" ")
    expect(row.get_by_test_id("row-select")).to_be_checked()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(f"/traces/{s.trace_id}\\?node={s.trace_call_id}"))


def test_call_detail_renders_the_conversation(page: Page, ui_server: UiServer) -> None:
    s = ui_server.seeded
    page.goto(f"{ui_server.url}/calls/{s.chat_id}")
    messages = page.get_by_test_id("input-messages").get_by_test_id("message")
    expect(messages).to_have_count(4)
    roles = messages.evaluate_all("ms => ms.map(m => m.dataset.role)")
    assert roles == ["system", "user", "assistant", "tool"]
    expect(messages.nth(0)).to_contain_text("You are a weather assistant")
    images = messages.nth(1).get_by_test_id("image-part").locator("img")
    expect(images).to_have_count(2)
    assert images.nth(0).get_attribute("src") == "https://example.com/paris.jpg"
    assert (images.nth(1).get_attribute("src") or "").startswith("data:image/png;base64,")
    tool = messages.nth(2).get_by_test_id("tool-call")
    expect(tool.get_by_test_id("tool-call-name")).to_have_text("get_weather")
    expect(tool).to_contain_text('"city": "Paris"')
    expect(tool).to_contain_text("call_weather_paris")
    expect(messages.nth(3)).to_contain_text("answers call_weather_paris")
    expect(page.get_by_test_id("output-messages")).to_contain_text("fake upstream says hi")
    expect(page.get_by_test_id("call-params")).to_contain_text('"temperature": 0.3')
    metrics = page.get_by_test_id("call-metrics")
    expect(metrics.get_by_test_id("metric-usage-source")).to_contain_text("upstream")
    expect(metrics.get_by_test_id("metric-latency")).not_to_contain_text("—")
    expect(page.get_by_test_id("call-tags")).to_contain_text("sess-ui-1")
    # raw request and response JSON
    raw = page.get_by_test_id("raw-json")
    expect(raw.locator("pre")).to_contain_text('"messages"')
    raw.get_by_test_id("raw-tab-response").click()
    expect(raw.locator("pre")).to_contain_text('"chat.completion"')
    expect(raw.get_by_role("button", name="Copy JSON")).to_be_visible()
    screenshot(page, "call", full_page=True)


def test_tool_call_answer_and_stream_and_error(page: Page, ui_server: UiServer) -> None:
    s = ui_server.seeded
    page.goto(f"{ui_server.url}/calls/{s.tools_id}")
    tool = page.get_by_test_id("output-messages").get_by_test_id("tool-call")
    expect(tool.get_by_test_id("tool-call-name")).to_have_text("get_weather")
    args = json.dumps(TOOL_ARGS, indent=2).splitlines()[1].strip()
    expect(tool).to_contain_text(args)
    expect(page.get_by_test_id("output-messages")).to_contain_text("finish: tool_calls")
    page.goto(f"{ui_server.url}/calls/{s.stream_id}")
    expect(page.get_by_test_id("metric-ttft")).not_to_contain_text("—")
    expect(page.get_by_test_id("output-messages")).to_contain_text("fake upstream says hi")
    page.goto(f"{ui_server.url}/calls/{s.error_id}")
    expect(page.get_by_test_id("call-error")).to_contain_text("server had an error")
    expect(page.get_by_test_id("call-header")).to_contain_text("error 500")
    page.goto(f"{ui_server.url}/calls/{s.responses_id}")
    messages = page.get_by_test_id("input-messages").get_by_test_id("message")
    expect(messages.nth(0)).to_contain_text("Be terse.")
    expect(messages.nth(1)).to_contain_text("Say hi with the Responses API")


def test_feedback_posts_and_shows(page: Page, ui_server: UiServer) -> None:
    s = ui_server.seeded
    page.goto(f"{ui_server.url}/calls/{s.stream_id}")
    expect(page.get_by_test_id("feedback-none")).to_be_visible()
    page.get_by_test_id("feedback-note").fill("Nice greeting <b>bold?</b>")
    page.get_by_test_id("feedback-up").click()
    expect(page.get_by_test_id("feedback-entry")).to_have_count(1)
    expect(page.get_by_test_id("feedback-entry")).to_contain_text("Nice greeting <b>bold?</b>")
    page.get_by_test_id("feedback-down").click()
    # text and inline icons with accessible names: nothing depends on an emoji font
    up, down = page.get_by_test_id("feedback-up"), page.get_by_test_id("feedback-down")
    expect(up).to_have_text("Good")
    expect(down).to_have_text("Bad")
    expect(page.get_by_role("button", name="Good answer (thumbs up)")).to_be_visible()
    expect(page.get_by_role("button", name="Bad answer (thumbs down)")).to_be_visible()
    for button in (up, down):
        icon = button.locator("svg")
        expect(icon).to_be_visible()
        box = icon.bounding_box()
        assert box is not None and box["width"] >= 8 and box["height"] >= 8
    expect(page.get_by_test_id("feedback-up-count")).to_have_text("1")
    expect(page.get_by_test_id("feedback-up-count")).to_have_attribute("aria-label", "1 thumbs up")
    expect(page.get_by_test_id("feedback-down-count")).to_have_attribute(
        "aria-label", "1 thumbs down"
    )
    expect(page.get_by_role("img", name="thumbs up")).to_have_count(1)
    expect(page.get_by_role("img", name="thumbs down")).to_have_count(1)
    assert "\U0001f44d" not in page.get_by_test_id("feedback").inner_text()
    stored = ui_server.get(f"/api/calls/{s.stream_id}")["feedback"]
    assert [f["thumbs"] for f in stored] == ["up", "down"]
    assert stored[0]["note"] == "Nice greeting <b>bold?</b>"
    page.reload()
    expect(page.get_by_test_id("feedback-entry")).to_have_count(2)
    # the table can filter on it
    page.goto(ui_server.url + "/?feedback=up")
    expect(page.get_by_test_id("call-row")).to_have_count(1)
    assert rows(page)[0]["id"] == s.stream_id


def test_hostile_strings_render_as_text(page: Page, ui_server: UiServer) -> None:
    s = ui_server.seeded
    page.goto(f"{ui_server.url}/calls/{s.hostile_id}")
    messages = page.get_by_test_id("input-messages")
    expect(messages).to_contain_text(HOSTILE_SCRIPT)
    expect(messages).to_contain_text(HOSTILE_IMG)
    expect(page.get_by_test_id("call-tags")).to_contain_text(HOSTILE_IMG)  # a property value
    assert page.locator("main script").count() == 0
    assert page.locator("main img[src=x]").count() == 0
    page.get_by_test_id("raw-json").locator("pre").wait_for()
    page.wait_for_timeout(300)  # an onerror handler would have run by now
    assert page.evaluate("window.__pwned") is None
    # the traces table and the trace view too
    page.goto(f"{ui_server.url}/?q=verbatim")
    expect(page.get_by_test_id("call-row")).to_have_count(1)
    page.get_by_test_id("call-row").click()
    expect(page.get_by_test_id("node-detail")).to_contain_text(HOSTILE_SCRIPT)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned") is None
    screenshot(page, "hostile")


def test_a_5mb_prompt_is_truncated_and_the_page_stays_responsive(
    page: Page, ui_server: UiServer
) -> None:
    s = ui_server.seeded
    page.goto(f"{ui_server.url}/calls/{s.big_id}")
    message = page.get_by_test_id("input-messages").get_by_test_id("message").first
    expect(message).to_contain_text("BIGPROMPT")
    expect(message).to_contain_text("more characters")
    shown = len(message.inner_text())
    assert shown < 5_000, shown
    started = page.evaluate("performance.now()")
    message.get_by_role("button", name="show more").click()
    expect(message).to_contain_text("more characters")
    assert len(message.inner_text()) > shown
    assert page.evaluate("performance.now()") - started < 2_000
    # the raw JSON view is bounded too
    raw = page.get_by_test_id("raw-json").locator("pre")
    assert len(raw.inner_text()) < 50_000


def test_empty_database_tells_what_to_do(page: Page, empty_server: UiServer) -> None:
    page.goto(empty_server.url + "/")
    empty = page.get_by_test_id("empty-state")
    expect(empty).to_contain_text(f"export OPENAI_BASE_URL={empty_server.url}/v1")
    expect(empty.get_by_role("button", name="Copy")).to_be_visible()
    screenshot(page, "empty")
    # the first call an app makes replaces the empty state, without a reload
    call_id = empty_server.chat("The very first call")
    expect(page.locator(f"[data-testid=call-row][data-call-id='{call_id}']")).to_be_visible(
        timeout=8_000
    )
    expect(page.get_by_test_id("empty-state")).to_have_count(0)


def test_live_update_shows_a_new_call_without_reload(page: Page, ui_server: UiServer) -> None:
    page.goto(ui_server.url + "/")
    expect(page.get_by_test_id("call-row").first).to_be_visible()
    page.evaluate("window.__sameDocument = true")
    call_id = ui_server.chat("A call made while the page is open")
    new_row = page.locator(f"[data-testid=call-row][data-call-id='{call_id}']")
    expect(new_row).to_be_visible(timeout=8_000)
    assert rows(page)[0]["id"] == call_id
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    # scrolled down, a new call does not move the rows being read
    scroller = page.get_by_test_id("calls-scroll")
    scroller.evaluate("el => el.scrollTo(0, 36 * 10)")
    page.wait_for_timeout(200)
    anchor = page.evaluate(
        """() => { const top = document.querySelector('[data-testid=calls-scroll]')
                        .getBoundingClientRect().top;
                   const r = [...document.querySelectorAll('[data-testid=call-row]')]
                        .find(e => e.getBoundingClientRect().top >= top);
                   return [r.dataset.callId, r.getBoundingClientRect().top]; }"""
    )
    third = ui_server.chat("A third call while scrolled down")
    page.locator(f"[data-call-id='{third}']").wait_for(state="attached", timeout=8_000)
    page.wait_for_timeout(100)
    moved = page.locator(f"[data-call-id='{anchor[0]}']").bounding_box()
    assert moved is not None and abs(moved["y"] - anchor[1]) < 2, (anchor, moved)
    # with a filter that the new call does not match, it does not appear
    page.goto(ui_server.url + "/?model=gpt-4o")
    expect(page.get_by_test_id("call-row").first).to_be_visible()
    other = ui_server.chat("Another one, on a different model", model="gpt-4o-mini")
    page.wait_for_timeout(2_500)
    assert page.locator(f"[data-call-id='{other}']").count() == 0


def test_client_routes_and_assets_are_served(page: Page, ui_server: UiServer) -> None:
    s = ui_server.seeded
    for path in (
        f"/traces/{s.trace_id}",
        f"/calls/{s.chat_id}",
        "/dashboard",
        "/ops/x",
        "/anything/at/all",
    ):
        response = page.goto(ui_server.url + path)
        assert response is not None and response.status == 200
        assert response.headers["cache-control"] == "no-cache"
        expect(page.get_by_test_id("nav")).to_be_visible()
    script = page.locator("script[type=module]").first.get_attribute("src")
    assert script and script.startswith("/assets/")
    asset = page.request.get(ui_server.url + script, headers={"Accept-Encoding": "gzip"})
    assert asset.ok and "immutable" in asset.headers["cache-control"]
    assert asset.headers.get("content-encoding") == "gzip"
    for escape in ("/assets/..%2F..%2Fui.py", "/assets/%2E%2E/%2E%2E/ui.py", "/assets/x.js.gz"):
        outside = page.request.get(ui_server.url + escape)
        assert "from __future__" not in outside.text(), escape
        # the client normalises `%2E%2E` away: `/ui.py` is an app path (index.html)
        if urllib.parse.urlsplit(outside.url).path.startswith("/assets/"):
            assert outside.status == 404, escape
        else:
            assert outside.headers["content-type"].startswith("text/html"), escape
    missing = page.request.get(ui_server.url + "/api/nope")
    assert missing.status == 404 and missing.json()["error"]["message"]
