import { describe, expect, it } from "vitest";
import { fmtCostExact, fmtDelta, fmtIntExact, fmtMetric, fmtRate, metricKind } from "./numbers";

describe("exact totals", () => {
  it("shows every cost decimal the server keeps, and parses back to the same number", () => {
    for (const v of [0, 0.0012345, 1234.5, 0.1 + 0.2, 12.3456789012, 0.0000000001, 98765432.1]) {
      const text = fmtCostExact(v);
      const parsed = Number(text.replace(/[$,]/g, ""));
      expect(parsed).toBe(Math.round(v * 1e10) / 1e10);
    }
    expect(fmtCostExact(0.0012345)).toBe("$0.0012345");
    expect(fmtCostExact(1234.5)).toBe("$1,234.5");
    expect(fmtCostExact(0)).toBe("$0");
    expect(fmtCostExact(null)).toBe("—");
  });
  it("shows whole numbers in full with separators", () => {
    expect(fmtIntExact(1234567)).toBe("1,234,567");
    expect(fmtIntExact(0)).toBe("0");
    expect(fmtIntExact(999)).toBe("999");
    expect(fmtIntExact(undefined)).toBe("—");
  });
  it("shows rates with two decimals", () => {
    expect(fmtRate(0.12345)).toBe("12.35%");
    expect(fmtRate(0)).toBe("0.00%");
    expect(fmtRate(null)).toBe("—");
  });
});

describe("deltas", () => {
  it("signs and sizes changes against the baseline", () => {
    expect(fmtDelta(150, 100, "ms")).toEqual({ text: "+50 ms (+50%)", sign: 1 });
    expect(fmtDelta(90, 100, "int")).toEqual({ text: "-10 (-10%)", sign: -1 });
    expect(fmtDelta(5, 5, "int")).toEqual({ text: "±0", sign: 0 });
    expect(fmtDelta(0.002, 0.001, "usd")?.text).toBe("+$0.001 (+100%)");
    expect(fmtDelta(3, 0, "int")?.text).toBe("+3");
    expect(fmtDelta(null, 3, "int")).toBeNull();
    expect(fmtDelta("ok", "error", "text")).toBeNull();
  });
  it("knows each metric's kind", () => {
    expect(metricKind("latency_ms")).toBe("ms");
    expect(metricKind("cost_usd")).toBe("usd");
    expect(metricKind("usage.total_tokens")).toBe("int");
    expect(metricKind("status")).toBe("text");
    expect(fmtMetric(1500, "ms")).toBe("1.50 s");
    expect(fmtMetric(null, "int")).toBe("—");
  });
});
