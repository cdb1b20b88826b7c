import { describe, expect, it } from "vitest";
import type { EvalRunRow } from "../api/types";
import {
  deltaTone,
  fmtMetricDelta,
  fmtMetricValue,
  fmtScore,
  isFailedRow,
  isSignificant,
  lineUp,
  rowChange,
  rowScore,
  summaryMetrics,
  trialValue,
} from "./evaluations";

function row(index: number, scores: EvalRunRow["scores"], extra: Partial<EvalRunRow> = {}): EvalRunRow {
  return {
    row_index: index,
    trial: 0,
    inputs: {},
    output: null,
    scores,
    scorer_errors: {},
    model_error: null,
    trace_id: null,
    span_id: null,
    latency_ms: null,
    usage: { prompt_tokens: null, completion_tokens: null, total_tokens: null },
    cost_usd: null,
    call_ids: [],
    ...extra,
  };
}

describe("summaryMetrics", () => {
  it("names metrics as compare does, booleans, numbers and dict scorers alike", () => {
    const metrics = summaryMetrics({
      exact_match: { true_count: 1, true_fraction: 0.5, n: 2, n_errors: 1 },
      Close: {
        close: { true_count: 2, true_fraction: 1, n: 2, n_errors: 0 },
        ratio: { mean: 0.9, stderr: 0.05, n: 2, n_errors: 0 },
      },
      notes: { n: 2, n_errors: 0 },
    });
    expect(metrics.map((m) => [m.name, m.kind, m.value])).toEqual([
      ["exact_match.true_fraction", "boolean", 0.5],
      ["Close.close.true_fraction", "boolean", 1],
      ["Close.ratio.mean", "number", 0.9],
    ]);
    expect(metrics[0]?.nErrors).toBe(1);
    expect(metrics[2]?.stderr).toBe(0.05);
  });

  it("takes no metric from what is not a summary", () => {
    expect(summaryMetrics(null)).toEqual([]);
    expect(summaryMetrics([1, 2])).toEqual([]);
    expect(summaryMetrics({ a: { mean: null, n: 0, n_errors: 0 } })[0]?.value).toBeNull();
  });
});

describe("rows", () => {
  it("reads a score at a path and spots failed rows", () => {
    const r = row(0, { exact_match: true, Close: { ratio: 0.75 } });
    expect(rowScore(r, ["exact_match"])).toBe(true);
    expect(rowScore(r, ["Close", "ratio"])).toBe(0.75);
    expect(rowScore(r, ["Close", "missing"])).toBeNull();
    expect(isFailedRow(r)).toBe(false);
    expect(isFailedRow(row(1, {}, { model_error: { type: "ValueError", message: "no" } }))).toBe(true);
    expect(isFailedRow(row(2, { a: true }, { scorer_errors: { b: "boom" } }))).toBe(true);
  });

  it("lines runs up by row index with their trials, a failed boolean trial as a fail", () => {
    const a = [row(1, { ok: true }), row(0, { ok: false })];
    const b = [row(0, { ok: true }), row(0, { ok: true }, { trial: 1 }), row(2, { ok: true })];
    const lined = lineUp([a, b]);
    expect(lined.map((l) => l.rowIndex)).toEqual([0, 1, 2]);
    expect(lined[0]?.perRun.map((trials) => trials.length)).toEqual([1, 2]);
    expect(lined[1]?.perRun[1]).toEqual([]);
    const failed = [row(0, {}, { model_error: { message: "x" } }), row(0, { ok: true }, { trial: 1 })];
    expect(trialValue(failed, ["ok"], "boolean")).toBe(0.5);
    expect(trialValue(failed, ["ok"], "number")).toBe(1);
    expect(trialValue([], ["ok"], "boolean")).toBeNull();
  });

  it("says how a row changed: flips for booleans, better or worse for numbers and latency", () => {
    expect(rowChange(1, 0, "boolean", "ok.true_fraction")).toBe("pass_to_fail");
    expect(rowChange(0, 1, "boolean", "ok.true_fraction")).toBe("fail_to_pass");
    expect(rowChange(1, 1, "boolean", "ok.true_fraction")).toBe("same");
    expect(rowChange(0.4, 0.6, "number", "r.mean")).toBe("better");
    expect(rowChange(100, 150, "number", "latency_ms.mean")).toBe("worse");
    expect(rowChange(null, 1, "number", "r.mean")).toBe("missing");
  });
});

describe("formatting", () => {
  it("shows scores, values and deltas the way a reader expects", () => {
    expect(fmtScore(true)).toBe("✓");
    expect(fmtScore(false)).toBe("✗");
    expect(fmtScore({ close: true, ratio: 0.5 })).toBe("close: ✓, ratio: 0.500");
    expect(fmtScore(undefined)).toBe("–");
    expect(fmtMetricValue(0.5, "boolean")).toBe("50.0%");
    expect(fmtMetricValue(0.123456, "number")).toBe("0.123");
    expect(fmtMetricDelta(-0.25, "boolean")).toBe("−25.0 pp");
    expect(fmtMetricDelta(0.5, "number")).toBe("+0.500");
    expect(deltaTone(-5, "latency_ms.mean")).toBe("better");
    expect(deltaTone(-0.1, "ok.true_fraction")).toBe("worse");
    expect(isSignificant(0.1, 0.3)).toBe(true);
    expect(isSignificant(-0.1, 0.3)).toBe(false);
  });
});
