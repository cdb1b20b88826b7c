import { describe, expect, it } from "vitest";
import type { Stats as StatsResult, StatsGroup } from "../../api/types";
import {
  bucketKey,
  bucketKeys,
  dashboardFilters,
  fitRange,
  opBars,
  resolveRange,
  stackedRows,
  timeRows,
  topModels,
  withRange,
} from "./dashboard";

const NOW = Date.parse("2026-03-10T12:34:56Z");

function g(key: string | null, calls: number, extra: Partial<StatsGroup> = {}): StatsGroup {
  return {
    key,
    calls,
    errors: 0,
    error_rate: calls ? 0 : null,
    prompt_tokens: 0,
    completion_tokens: 0,
    total_tokens: calls * 10,
    cached_tokens: 0,
    reasoning_tokens: 0,
    cost_usd: calls * 0.001,
    calls_without_cost: 0,
    latency_ms: { p50: 100, p95: 200, p99: 300 },
    ttft_ms: { p50: null },
    ...extra,
  };
}

function stats(groups: StatsGroup[]): StatsResult {
  return { group_by: "model", groups, totals: g(null, 0), group_count: groups.length, percentiles: "exact" };
}

describe("fitRange", () => {
  it("picks the smallest preset holding the oldest call", () => {
    const ago = (ms: number) => new Date(NOW - ms).toISOString();
    expect(fitRange(ago(5 * 60_000), NOW)).toBe("1h");
    expect(fitRange(ago(3 * 3_600_000), NOW)).toBe("24h");
    expect(fitRange(ago(2 * 86_400_000), NOW)).toBe("7d");
    expect(fitRange(ago(20 * 86_400_000), NOW)).toBe("30d");
    expect(fitRange(ago(400 * 86_400_000), NOW)).toBe("30d");
    expect(fitRange(null, NOW)).toBe("7d");
    expect(resolveRange(new URLSearchParams(), NOW, "1h")).toMatchObject({ choice: "1h", since: "2026-03-10T11:34:56.000Z" });
    expect(resolveRange(new URLSearchParams("range=24h"), NOW, "1h").choice).toBe("24h");
  });
});

describe("resolveRange", () => {
  it("defaults to the last 7 days by hour", () => {
    const r = resolveRange(new URLSearchParams(), NOW);
    expect(r).toMatchObject({ choice: "7d", bucket: "hour", until: "2026-03-10T12:34:56.000Z", problem: null });
    expect(r.since).toBe("2026-03-03T12:34:56.000Z");
  });
  it("buckets 30 days by day, 24h by hour", () => {
    expect(resolveRange(new URLSearchParams("range=30d"), NOW).bucket).toBe("day");
    expect(resolveRange(new URLSearchParams("range=24h"), NOW)).toMatchObject({ bucket: "hour", since: "2026-03-09T12:34:56.000Z" });
  });
  it("takes a custom range from the URL and refuses an inverted one", () => {
    const ok = resolveRange(new URLSearchParams("range=custom&since=2026-01-01T00:00:00Z&until=2026-02-01T00:00:00Z"), NOW);
    expect(ok).toMatchObject({ choice: "custom", since: "2026-01-01T00:00:00.000Z", until: "2026-02-01T00:00:00.000Z", bucket: "day" });
    const bad = resolveRange(new URLSearchParams("range=custom&since=2026-02-01&until=2026-01-01"), NOW);
    expect(bad.choice).toBe("7d");
    expect(bad.problem).toMatch(/start before its end/);
    expect(resolveRange(new URLSearchParams("range=bogus"), NOW).choice).toBe("7d");
  });
});

describe("buckets", () => {
  it("uses the /api/stats keys (UTC)", () => {
    expect(bucketKey(NOW, "hour")).toBe("2026-03-10T12:00:00Z");
    expect(bucketKey(NOW, "day")).toBe("2026-03-10");
  });
  it("covers the range from the bucket holding since to the one holding until", () => {
    expect(bucketKeys("2026-03-10T10:30:00Z", "2026-03-10T12:10:00Z", "hour")).toEqual([
      "2026-03-10T10:00:00Z",
      "2026-03-10T11:00:00Z",
      "2026-03-10T12:00:00Z",
    ]);
    expect(bucketKeys("2026-01-30T05:00:00Z", "2026-02-02T00:00:00Z", "day")).toEqual(["2026-01-30", "2026-01-31", "2026-02-01"]);
    expect(bucketKeys("2026-02-02T00:00:00Z", "2026-01-01T00:00:00Z", "day")).toEqual([]);
  });
});

describe("stackedRows", () => {
  const keys = ["2026-01-01", "2026-01-02", "2026-01-03"];
  const totals = [g("2026-01-01", 5), g("2026-01-03", 7)];
  const models = [
    { model: "gpt-4o", groups: [g("2026-01-01", 3), g("2026-01-03", 1)] },
    { model: "key", groups: [g("2026-01-03", 6)] },
  ];
  it("stacks the top models, puts the rest in other, and fills missing buckets with 0", () => {
    const { rows, series } = stackedRows(keys, "day", totals, models, "calls");
    expect(series).toEqual([
      { dataKey: "s0", name: "gpt-4o" },
      { dataKey: "s1", name: "key" },
      { dataKey: "other", name: "other" },
    ]);
    expect(rows).toEqual([
      { key: "2026-01-01", label: "01-01", s0: 3, s1: 0, other: 2 },
      { key: "2026-01-02", label: "01-02", s0: 0, s1: 0, other: 0 },
      { key: "2026-01-03", label: "01-03", s0: 1, s1: 6, other: 0 },
    ]);
    // each bucket's stack adds up to its total
    const sum = rows.reduce((n, r) => n + Number(r.s0) + Number(r.s1) + Number(r.other), 0);
    expect(sum).toBe(12);
  });
  it("leaves other out when the models cover everything, and removes float noise from costs", () => {
    const t = [g("2026-01-01", 3, { cost_usd: 0.3 })];
    const m = [
      { model: "a", groups: [g("2026-01-01", 1, { cost_usd: 0.1 })] },
      { model: "b", groups: [g("2026-01-01", 2, { cost_usd: 0.2 })] },
    ];
    const { rows, series } = stackedRows(["2026-01-01"], "day", t, m, "cost_usd");
    expect(series.map((s) => s.name)).toEqual(["a", "b"]);
    expect(rows[0]?.other).toBe(0);
  });
  it("is all 'all calls' without any model", () => {
    const { series } = stackedRows(keys, "day", totals, [], "calls");
    expect(series).toEqual([{ dataKey: "other", name: "all calls" }]);
  });
});

describe("timeRows, topModels, opBars", () => {
  it("gives percentiles and error rate (percent) per bucket, null where there were no calls", () => {
    const rows = timeRows(["2026-01-01", "2026-01-02"], "day", [g("2026-01-01", 4, { errors: 1, error_rate: 0.25 })]);
    expect(rows[0]).toMatchObject({ calls: 4, errors: 1, error_rate: 25, p50: 100, p95: 200, p99: 300 });
    expect(rows[1]).toMatchObject({ calls: 0, error_rate: null, p50: null });
  });
  it("lists named models only", () => {
    expect(topModels(stats([g(null, 50), g("gpt-4o", 10), g("", 3), g("o3", 2)]), 5)).toEqual(["gpt-4o", "o3"]);
    expect(topModels(stats([g("a", 3), g("b", 2), g("c", 1)]), 2)).toEqual(["a", "b"]);
  });
  it("keeps priced ops, largest cost first", () => {
    const bars = opBars(stats([g("x", 1, { cost_usd: 0.5 }), g("y", 1, { cost_usd: null }), g("z", 9, { cost_usd: 2 })]));
    expect(bars).toEqual([
      { name: "z", cost: 2, calls: 9 },
      { name: "x", cost: 0.5, calls: 1 },
    ]);
  });
});

describe("URL filters", () => {
  it("passes kind and project on, nothing else", () => {
    expect(dashboardFilters(new URLSearchParams("kind=llm&project=p&range=1h&x=1"))).toEqual({ kind: "llm", project: "p" });
    expect(dashboardFilters(new URLSearchParams("kind=bogus"))).toEqual({});
  });
  it("replaces the range and keeps the filters", () => {
    const next = withRange(new URLSearchParams("range=custom&since=a&until=b&kind=op"), { range: "24h" });
    expect(next.toString()).toBe("kind=op&range=24h");
  });
});
