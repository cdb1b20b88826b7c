/**
 * Evaluation runs for the pages: a summary's metrics as a flat list, a row's scores by metric,
 * failed rows, and the rows of several runs lined up by row index with their flips.
 *
 * A metric is named as the server's compare names it: the scorer, the key path into its
 * summary, then the statistic (`exact_match.true_fraction`, `Close.ratio.mean`). A summary
 * node with `true_fraction` is a boolean metric, one with `mean` a numeric one; any other
 * object is walked into (a dict scorer's keys), in the order its keys come.
 */
import type { EvalRunRow, Json } from "../api/types";

export type EvalMetricKind = "boolean" | "number";

export interface SummaryMetric {
  /** `scorer.key….stat`, as `/api/evaluations/compare` names it. */
  name: string;
  /** The scorer and the keys under it (without the statistic). */
  path: string[];
  kind: EvalMetricKind;
  value: number | null;
  stderr: number | null;
  n: number | null;
  nErrors: number | null;
}

type JsonObject = { [key: string]: Json };

/** A JSON object (not an array, not null). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function numberOrNull(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** Every metric of a run's summary, in the summary's own order. */
export function summaryMetrics(summary: unknown): SummaryMetric[] {
  const found: SummaryMetric[] = [];
  const walk = (node: unknown, path: string[]) => {
    if (!isObject(node)) return;
    if ("true_fraction" in node || "mean" in node) {
      const kind: EvalMetricKind = "true_fraction" in node ? "boolean" : "number";
      const stat = kind === "boolean" ? "true_fraction" : "mean";
      found.push({
        name: [...path, stat].join("."),
        path,
        kind,
        value: numberOrNull(node[stat]),
        stderr: numberOrNull(node.stderr),
        n: numberOrNull(node.n),
        nErrors: numberOrNull(node.n_errors),
      });
      return;
    }
    for (const [key, child] of Object.entries(node)) walk(child, [...path, key]);
  };
  walk(summary, []);
  return found;
}

/** The value a row's scores hold at a metric's path (a boolean or a number), or null. */
export function rowScore(row: Pick<EvalRunRow, "scores">, path: readonly string[]): boolean | number | null {
  let node: unknown = row.scores;
  for (const key of path) {
    if (!isObject(node)) return null;
    node = node[key];
  }
  if (typeof node === "boolean") return node;
  return numberOrNull(node);
}

/** The model failed on the row, or one of its scorers did. */
export function isFailedRow(row: Pick<EvalRunRow, "model_error" | "scorer_errors">): boolean {
  return row.model_error !== null || Object.keys(row.scorer_errors).length > 0;
}

/** The scorers a run's rows were scored by, in the order they first appear. */
export function scorerNames(rows: readonly Pick<EvalRunRow, "scores" | "scorer_errors">[]): string[] {
  const names = new Set<string>();
  for (const row of rows) {
    for (const name of Object.keys(row.scores)) names.add(name);
    for (const name of Object.keys(row.scorer_errors)) names.add(name);
  }
  return [...names];
}

/** A score as a cell shows it: ✓/✗ for booleans, a short number, a dict as `key: value` pairs. */
export function fmtScore(value: Json | undefined): string {
  if (value === undefined || value === null) return "–";
  if (typeof value === "boolean") return value ? "✓" : "✗";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(3);
  if (isObject(value)) {
    return Object.entries(value)
      .map(([k, v]) => `${k}: ${fmtScore(v)}`)
      .join(", ");
  }
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** A metric's value: a percentage for booleans (the true fraction), else a number. */
export function fmtMetricValue(value: number | null, kind: EvalMetricKind): string {
  if (value === null) return "–";
  if (kind === "boolean") return `${(value * 100).toFixed(1)}%`;
  return Math.abs(value) >= 100 ? value.toFixed(1) : value.toPrecision(3);
}

/** A delta with its sign (percentage points for booleans). */
export function fmtMetricDelta(delta: number | null, kind: EvalMetricKind): string {
  if (delta === null) return "–";
  const sign = delta > 0 ? "+" : delta < 0 ? "−" : "±";
  const size = Math.abs(delta);
  if (kind === "boolean") return `${sign}${(size * 100).toFixed(1)} pp`;
  return `${sign}${size >= 100 ? size.toFixed(1) : size.toPrecision(3)}`;
}

/** Whether a delta is better, worse or neither; latency is better lower, scores higher. */
export function deltaTone(delta: number | null, metric: string): "better" | "worse" | "same" {
  if (delta === null || delta === 0) return "same";
  const lowerIsBetter = metric.startsWith("latency_ms");
  return delta > 0 !== lowerIsBetter ? "better" : "worse";
}

/** A 95% interval that excludes zero: the difference is more than resampling noise. */
export function isSignificant(low: number | null, high: number | null): boolean {
  return low !== null && high !== null && (low > 0 || high < 0);
}

export interface LinedUpRow {
  rowIndex: number;
  /** Per run (in the order given), that run's trials of this row. */
  perRun: EvalRunRow[][];
}

/** The rows of several runs side by side, by row index (trials kept together), in index order. */
export function lineUp(runs: readonly (readonly EvalRunRow[])[]): LinedUpRow[] {
  const byIndex = new Map<number, EvalRunRow[][]>();
  runs.forEach((rows, i) => {
    for (const row of rows) {
      let entry = byIndex.get(row.row_index);
      if (!entry) {
        entry = runs.map(() => []);
        byIndex.set(row.row_index, entry);
      }
      entry[i]?.push(row);
    }
  });
  return [...byIndex.entries()].sort(([a], [b]) => a - b).map(([rowIndex, perRun]) => ({ rowIndex, perRun }));
}

/** A row's value of a metric over its trials: the mean (booleans count as 0/1); a failed
 * trial counts as 0 for a boolean (as the summary counts it), and is left out of a mean. */
export function trialValue(trials: readonly EvalRunRow[], path: readonly string[], kind: EvalMetricKind): number | null {
  const values: number[] = [];
  for (const trial of trials) {
    const value = rowScore(trial, path);
    if (typeof value === "boolean") values.push(value ? 1 : 0);
    else if (typeof value === "number") values.push(value);
    else if (kind === "boolean") values.push(0);
  }
  if (values.length === 0) return null;
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export type RowChange = "pass_to_fail" | "fail_to_pass" | "worse" | "better" | "same" | "missing";

/** How a row changed from the baseline for one metric: a flip for booleans (passing is a
 * value of at least one half over the trials), else better or worse. */
export function rowChange(base: number | null, other: number | null, kind: EvalMetricKind, metric: string): RowChange {
  if (base === null || other === null) return "missing";
  if (kind === "boolean") {
    const [was, is] = [base >= 0.5, other >= 0.5];
    if (was && !is) return "pass_to_fail";
    if (!was && is) return "fail_to_pass";
    return other === base ? "same" : deltaTone(other - base, metric) === "better" ? "better" : "worse";
  }
  const tone = deltaTone(other - base, metric);
  return tone;
}

/** Whether a row change is a regression (worse than the baseline, a pass that now fails). */
export function isRegression(change: RowChange): boolean {
  return change === "pass_to_fail" || change === "worse";
}
