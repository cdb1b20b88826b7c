import { render, screen, waitFor } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Stats as StatsResult, StatsGroup } from "../api/types";
import DashboardPage from "./DashboardPage";

function group(key: string | null, calls: number, cost: number | null, extra: Partial<StatsGroup> = {}): StatsGroup {
  return {
    key,
    calls,
    errors: 1,
    error_rate: calls ? 1 / calls : null,
    prompt_tokens: calls * 100,
    completion_tokens: calls * 23,
    total_tokens: calls * 123,
    cached_tokens: 0,
    reasoning_tokens: 0,
    cost_usd: cost,
    calls_without_cost: 0,
    latency_ms: { p50: 480, p95: 950.25, p99: 2200 },
    ttft_ms: { p50: 120 },
    ...extra,
  };
}

function answer(groupBy: string, groups: StatsGroup[], totals: Omit<StatsGroup, "key">): StatsResult {
  return { group_by: groupBy, groups, totals, group_count: groups.length, percentiles: "exact" };
}

const TOTALS = { ...group(null, 1234567, 12.3456789012, { errors: 3, error_rate: 3 / 1234567 }) };
delete (TOTALS as Partial<StatsGroup>).key;

function stubStats(empty = false, oldest: string | null = null) {
  const seen: URLSearchParams[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL) => {
      const url = new URL(String(input), "http://x");
      if (url.pathname === "/api/calls") {
        const calls = oldest ? [{ id: "c1", started_at: oldest }] : [];
        return new Response(JSON.stringify({ calls, next_cursor: null }), { status: 200, headers: { "Content-Type": "application/json" } });
      }
      seen.push(url.searchParams);
      const by = url.searchParams.get("group_by") ?? "";
      const zero = { ...TOTALS, calls: 0, errors: 0, error_rate: null, total_tokens: 0, cost_usd: null };
      let body: StatsResult;
      if (empty) body = answer(by, [], zero);
      else if (by === "model") body = answer(by, [group("gpt-4o", 1000000, 10), group(null, 234567, 2.3456789012)], TOTALS);
      else if (by === "op_name") body = answer(by, [group("summarize", 10, 5), group("free", 4, null)], TOTALS);
      else body = answer(by, [group("2026-01-05", 1234567, 12.3456789012)], TOTALS);
      return new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } });
    }),
  );
  return seen;
}

function renderAt(url: string) {
  return render(
    <MemoryRouter initialEntries={[url]}>
      <Routes>
        <Route path="/dashboard" element={<DashboardPage />} />
      </Routes>
    </MemoryRouter>,
  );
}

afterEach(() => vi.unstubAllGlobals());

describe("DashboardPage", () => {
  it("shows /api/stats totals exactly and asks for few, bounded requests", async () => {
    const seen = stubStats();
    renderAt("/dashboard?range=custom&since=2026-01-01T00:00:00Z&until=2026-02-01T00:00:00Z");
    expect((await screen.findByTestId("dashboard-total-calls")).textContent).toBe("1,234,567");
    expect(screen.getByTestId("dashboard-total-tokens").textContent).toBe("151,851,741");
    expect(screen.getByTestId("dashboard-total-cost").textContent).toBe("$12.3456789012");
    expect(screen.getByTestId("dashboard-total-cost").dataset.value).toBe("12.3456789012");
    expect(screen.getByTestId("dashboard-total-errors").textContent).toBe("3");
    expect(screen.getByTestId("dashboard-error-rate").textContent).toBe("0.00%");
    for (const id of ["chart-calls", "chart-tokens", "chart-cost", "chart-latency", "chart-errors", "chart-top-ops"]) {
      expect(screen.getByTestId(id)).toBeTruthy();
    }
    await waitFor(() => expect(seen.length).toBe(4)); // by day, by model, by op, one named model
    for (const q of seen) {
      expect(q.get("since")).toBe("2026-01-01T00:00:00.000Z");
      expect(q.get("until")).toBe("2026-02-01T00:00:00.000Z");
    }
    expect(seen.map((q) => q.get("group_by")).sort()).toEqual(["day", "day", "model", "op_name"]);
    expect(seen.find((q) => q.get("model"))?.get("model")).toBe("gpt-4o");
    expect(screen.getByTestId("dashboard-range").dataset.bucket).toBe("day");
  });

  it("passes the kind filter to every request", async () => {
    const seen = stubStats();
    renderAt("/dashboard?range=24h&kind=llm");
    await screen.findByTestId("dashboard-total-calls");
    await waitFor(() => expect(seen.length).toBe(4));
    expect(seen.every((q) => q.get("kind") === "llm")).toBe(true);
    expect(screen.getByTestId("kind-llm").getAttribute("aria-pressed")).toBe("true");
  });

  it("has an empty state when the range has no calls", async () => {
    stubStats(true);
    renderAt("/dashboard?range=1h");
    expect(await screen.findByTestId("dashboard-empty")).toBeTruthy();
    expect(screen.queryByTestId("dashboard-total-calls")).toBeNull();
  });

  it("opens on the smallest range holding the oldest call when the URL names none", async () => {
    const seen = stubStats(false, new Date(Date.now() - 20 * 60_000).toISOString());
    renderAt("/dashboard");
    await screen.findByTestId("dashboard-total-calls");
    const line = screen.getByTestId("dashboard-range");
    expect(line.dataset.choice).toBe("1h");
    expect(line.dataset.fitted).toBe("true");
    expect(screen.getByTestId("range-1h").getAttribute("aria-pressed")).toBe("true");
    const span = Date.parse(line.dataset.until ?? "") - Date.parse(line.dataset.since ?? "");
    expect(span).toBe(3_600_000);
    await waitFor(() => expect(seen.length).toBe(4));
    expect(seen.every((q) => q.get("since") === line.dataset.since)).toBe(true);
  });

  it("keeps the range the URL names", async () => {
    const seen = stubStats(false, new Date(Date.now() - 20 * 60_000).toISOString());
    renderAt("/dashboard?range=30d");
    await screen.findByTestId("dashboard-total-calls");
    expect(screen.getByTestId("dashboard-range").dataset.choice).toBe("30d");
    expect(screen.getByTestId("dashboard-range").dataset.fitted).toBe("false");
    await waitFor(() => expect(seen.length).toBe(4));
  });
});
