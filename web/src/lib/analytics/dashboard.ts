/**
 * The dashboard's data, as pure functions of `/api/stats` answers: the time range kept in
 * the page URL, its buckets (UTC hours or days, the keys `/api/stats` groups by), and the
 * chart rows (one per bucket, missing buckets filled with zeros, models stacked with the
 * rest as "other").
 */
import type { Stats as StatsResult, StatsGroup, StatsSort } from "../../api/types";
import { KIND_FILTERS, type STATS_GROUP_KEYS } from "../../api/vocabulary";

export const RANGE_CHOICES = ["1h", "24h", "7d", "30d", "custom"] as const;
export type RangeChoice = (typeof RANGE_CHOICES)[number];
export type PresetRange = Exclude<RangeChoice, "custom">;
/** The range when the URL names none and the calls' age is not known (no calls yet). */
export const DEFAULT_RANGE: PresetRange = "7d";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SPANS: Record<PresetRange, number> = {
  "1h": HOUR,
  "24h": DAY,
  "7d": 7 * DAY,
  "30d": 30 * DAY,
};

export type Bucket = "hour" | "day";

export interface TimeRange {
  choice: RangeChoice;
  since: string;
  until: string;
  bucket: Bucket;
  /** Set when the URL's custom range could not be used (the default range is shown). */
  problem: string | null;
}

function isChoice(v: string | null): v is RangeChoice {
  return v !== null && (RANGE_CHOICES as readonly string[]).includes(v);
}

function parseTime(v: string | null): number | null {
  if (!v) return null;
  const t = new Date(v).getTime();
  return Number.isNaN(t) ? null : t;
}

/** Hours up to a week, days beyond. */
export function bucketFor(spanMs: number): Bucket {
  return spanMs <= 7 * DAY ? "hour" : "day";
}

/**
 * The range the dashboard opens on when the URL names none: the smallest preset holding
 * the oldest call (`oldest`, an ISO time), so a new user's first calls fill the charts
 * instead of being a sliver of the last week; the longest preset when calls are older
 * still, `DEFAULT_RANGE` when there are none.
 */
export function fitRange(oldest: string | null, now: number): PresetRange {
  const t = parseTime(oldest);
  if (t === null) return DEFAULT_RANGE;
  const presets = Object.keys(SPANS) as PresetRange[];
  return presets.find((c) => now - t <= SPANS[c]) ?? presets[presets.length - 1] ?? DEFAULT_RANGE;
}

/** The range the page URL asks for (`range=24h`, or `range=custom&since=..&until=..`);
 * `fallback` when it names none. */
export function resolveRange(page: URLSearchParams, now: number, fallback: PresetRange = DEFAULT_RANGE): TimeRange {
  const raw = page.get("range");
  const choice: RangeChoice = isChoice(raw) ? raw : fallback;
  if (choice === "custom") {
    const since = parseTime(page.get("since"));
    const until = parseTime(page.get("until")) ?? now;
    if (since !== null && since < until) {
      return {
        choice,
        since: new Date(since).toISOString(),
        until: new Date(until).toISOString(),
        bucket: bucketFor(until - since),
        problem: null,
      };
    }
    const fallback = resolveRange(new URLSearchParams({ range: DEFAULT_RANGE }), now);
    return { ...fallback, problem: "The custom range needs a start before its end; showing the last 7 days." };
  }
  const span = SPANS[choice];
  return {
    choice,
    since: new Date(now - span).toISOString(),
    until: new Date(now).toISOString(),
    bucket: bucketFor(span),
    problem: null,
  };
}

const pad = (n: number) => String(n).padStart(2, "0");

/** The `/api/stats` key of the bucket holding instant `t` (UTC). */
export function bucketKey(t: number, bucket: Bucket): string {
  const d = new Date(t);
  const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  return bucket === "day" ? day : `${day}T${pad(d.getUTCHours())}:00:00Z`;
}

/** Every bucket key from `since` to `until` (exclusive), in order; at most `max`. */
export function bucketKeys(since: string, until: string, bucket: Bucket, max = 10_000): string[] {
  const start = new Date(since).getTime();
  const end = new Date(until).getTime();
  if (!(start < end)) return [];
  const step = bucket === "day" ? DAY : HOUR;
  const first = Math.floor(start / step) * step;
  const keys: string[] = [];
  for (let t = first; t < end && keys.length < max; t += step) keys.push(bucketKey(t, bucket));
  return keys;
}

/** A bucket key as a short label, in the viewer's local time for hours. */
export function bucketLabel(key: string, bucket: Bucket): string {
  if (bucket === "day") return key.slice(5);
  const d = new Date(key);
  if (Number.isNaN(d.getTime())) return key;
  return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:00`;
}

const KIND_LABELS: Record<(typeof KIND_FILTERS)[number], string> = {
  llm: "LLM calls",
  op: "ops",
  agent: "agent spans",
  chain: "chain spans",
  tool: "tool spans",
  retriever: "retriever spans",
  embedding: "embedding spans",
};

export const KIND_CHOICES: readonly (readonly [string, string])[] = [
  ["", "all calls"],
  ...KIND_FILTERS.map((k) => [k, KIND_LABELS[k]] as const),
];

/** Filters of the page URL passed on to every `/api/stats` request: `kind` (llm|op) and
 * `project`. Anything else in the URL is the page's own. */
export function dashboardFilters(page: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  const kind = page.get("kind");
  if (kind !== null && (KIND_FILTERS as readonly string[]).includes(kind)) out.kind = kind;
  const project = page.get("project");
  if (project) out.project = project;
  return out;
}

/** A copy of the page query with the time range replaced (filters kept). */
export function withRange(page: URLSearchParams, range: Record<string, string>): URLSearchParams {
  const next = new URLSearchParams(page);
  for (const k of ["range", "since", "until"]) next.delete(k);
  for (const [k, v] of Object.entries(range)) next.set(k, v);
  return next;
}

export type GroupKey = (typeof STATS_GROUP_KEYS)[number];

/** The `/api/stats` query of a range and filters. */
export function statsParams(
  range: Pick<TimeRange, "since" | "until">,
  groupBy: GroupKey,
  extra: Record<string, string> & { sort?: StatsSort } = {},
): URLSearchParams {
  return new URLSearchParams({ group_by: groupBy, since: range.since, until: range.until, ...extra });
}

export const OTHER = "other";
export type Metric = "calls" | "total_tokens" | "cost_usd";

export interface ModelSeries {
  model: string;
  groups: StatsGroup[];
}

export type ChartRow = Record<string, string | number | null>;

function metricOf(g: StatsGroup | undefined, metric: Metric): number {
  if (!g) return 0;
  const v = g[metric];
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

/** Removes float noise from a difference of sums (costs are stored to 10 decimals). */
function clean(n: number): number {
  const r = Math.round(n * 1e10) / 1e10;
  return Math.abs(r) < 1e-12 ? 0 : r;
}

function byKey(groups: readonly StatsGroup[]): Map<string, StatsGroup> {
  return new Map(groups.map((g) => [String(g.key), g]));
}

export interface Series {
  /** The row key (`s0`, `s1`, ..., `other`): never a model name, which could be `key`. */
  dataKey: string;
  name: string;
}

/**
 * One row per bucket: `{key, label, s0: n, s1: n, ..., other: n}`, `s<i>` being model `i`.
 * `other` is the bucket's total minus the listed models, so a bucket's stack always adds
 * up to its total.
 */
export function stackedRows(
  keys: readonly string[],
  bucket: Bucket,
  totals: readonly StatsGroup[],
  models: readonly ModelSeries[],
  metric: Metric,
): { rows: ChartRow[]; series: Series[] } {
  const total = byKey(totals);
  const perModel = models.map((m, i) => ({ dataKey: `s${i}`, name: m.model, groups: byKey(m.groups) }));
  let otherUsed = false;
  const rows = keys.map((key) => {
    const row: ChartRow = { key, label: bucketLabel(key, bucket) };
    let listed = 0;
    for (const m of perModel) {
      const v = metricOf(m.groups.get(key), metric);
      row[m.dataKey] = v;
      listed += v;
    }
    const other = clean(metricOf(total.get(key), metric) - listed);
    row[OTHER] = other;
    if (other !== 0) otherUsed = true;
    return row;
  });
  const series: Series[] = perModel.map((m) => ({ dataKey: m.dataKey, name: m.name }));
  if (otherUsed) series.push({ dataKey: OTHER, name: models.length ? "other" : "all calls" });
  return { rows, series };
}

/** Latency percentiles, error rate and counts per bucket (null where there were no calls). */
export function timeRows(keys: readonly string[], bucket: Bucket, totals: readonly StatsGroup[]): ChartRow[] {
  const total = byKey(totals);
  return keys.map((key) => {
    const g = total.get(key);
    return {
      key,
      label: bucketLabel(key, bucket),
      calls: g?.calls ?? 0,
      errors: g?.errors ?? 0,
      error_rate: g && g.calls > 0 && g.error_rate !== null ? g.error_rate * 100 : null,
      p50: g?.latency_ms.p50 ?? null,
      p95: g?.latency_ms.p95 ?? null,
      p99: g?.latency_ms.p99 ?? null,
    };
  });
}

/** Up to `n` named models of a `group_by=model` answer (calls without a model are "other"). */
export function topModels(stats: StatsResult | undefined, n = 5): string[] {
  if (!stats) return [];
  return stats.groups
    .map((g) => g.key)
    .filter((k): k is string => typeof k === "string" && k !== "")
    .slice(0, n);
}

export interface OpBar {
  name: string;
  cost: number;
  calls: number;
}

/** Ops by cost, largest first, leaving out ops with no known cost. */
export function opBars(stats: StatsResult | undefined): OpBar[] {
  if (!stats) return [];
  return stats.groups
    .filter((g) => typeof g.cost_usd === "number" && g.cost_usd > 0)
    .map((g) => ({ name: g.key === null ? "(none)" : String(g.key), cost: g.cost_usd ?? 0, calls: g.calls }))
    .sort((a, b) => b.cost - a.cost);
}
