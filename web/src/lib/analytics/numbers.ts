/**
 * Numbers shown exactly (the dashboard's total cards equal `/api/stats` totals digit for
 * digit) and deltas against a baseline (the compare page's metric columns).
 */
import { DASH, fmtCost, fmtInt, fmtMs } from "../format";
import { boundedJson } from "../truncate";

function groupThousands(intPart: string): string {
  return intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** A dollar amount with every decimal the server keeps (10), trailing zeros dropped:
 * `$0.0012345`, `$1,234.5`, `$0`. Parsing the digits back gives the same number. */
export function fmtCostExact(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) return DASH;
  const sign = usd < 0 ? "-" : "";
  const fixed = Math.abs(usd).toFixed(10);
  const [intPart = "0", frac = ""] = fixed.split(".");
  const trimmed = frac.replace(/0+$/, "");
  return `${sign}$${groupThousands(intPart)}${trimmed ? `.${trimmed}` : ""}`;
}

/** A whole number in full, with thousands separators. */
export function fmtIntExact(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  const sign = n < 0 ? "-" : "";
  return `${sign}${groupThousands(String(Math.round(Math.abs(n))))}`;
}

/** A ratio as a percentage with two decimals: 0.12345 → `12.35%`. */
export function fmtRate(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return DASH;
  return `${(ratio * 100).toFixed(2)}%`;
}

export type MetricKind = "ms" | "int" | "usd" | "text";

/** The kind of a compare metric path. */
export function metricKind(path: string): MetricKind {
  if (path.endsWith("_ms")) return "ms";
  if (path === "cost_usd") return "usd";
  if (path.startsWith("usage.")) return "int";
  return "text";
}

/** A metric value as shown in a compare cell. */
export function fmtMetric(value: unknown, kind: MetricKind): string {
  if (value === null || value === undefined) return DASH;
  if (typeof value === "object") return boundedJson(value, 2_000).text;
  if (typeof value !== "number") return String(value);
  if (kind === "ms") return fmtMs(value);
  if (kind === "usd") return fmtCostExact(value);
  if (kind === "int") return fmtInt(value);
  return String(value);
}

export interface Delta {
  text: string;
  /** Sign of the change: more latency, tokens or cost is "worse" (1), less is "better" (-1). */
  sign: -1 | 0 | 1;
}

/** How `value` differs from `base`: `+120 ms (+25%)`, `-3 (-1.2%)`, `±0`; null when either
 * is not a number. */
export function fmtDelta(value: unknown, base: unknown, kind: MetricKind): Delta | null {
  if (typeof value !== "number" || typeof base !== "number" || kind === "text") return null;
  const d = value - base;
  if (d === 0) return { text: "±0", sign: 0 };
  const plus = d > 0 ? "+" : "-";
  const abs = Math.abs(d);
  const amount =
    kind === "ms" ? fmtMs(abs) : kind === "usd" ? (abs < 0.01 ? fmtCostExact(abs) : fmtCost(abs)) : fmtInt(abs);
  const pct = base !== 0 ? ` (${plus}${((abs / Math.abs(base)) * 100).toFixed(abs / Math.abs(base) < 0.1 ? 1 : 0)}%)` : "";
  return { text: `${plus}${amount}${pct}`, sign: d > 0 ? 1 : -1 };
}
