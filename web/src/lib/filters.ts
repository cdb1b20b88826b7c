/**
 * The traces table's state lives in the page URL (shareable, back button works). This
 * module maps the page's query string to the `/api/calls` query: only parameters the API
 * accepts are passed on (it refuses unknown ones with a 400), and a relative `range`
 * (`24h`) becomes `since` at request time, so a shared "last 24 hours" link stays relative.
 */
import type { SortKey } from "../api/types";

/** Exact-match filters of /api/calls (storage/filters.py EXACT). */
export const EXACT_FILTERS = [
  "project",
  "op_name",
  "op_version",
  "model",
  "status",
  "trace_id",
  "parent_id",
  "session_id",
  "user_id",
  "prompt_digest",
  "kind",
] as const;

export const RANGE_FILTERS = [
  "min_latency_ms",
  "max_latency_ms",
  "min_tokens",
  "max_tokens",
  "min_cost",
  "max_cost",
] as const;

/** Every filter parameter /api/calls takes, besides `property.<key>`. */
export const FILTER_PARAMS: readonly string[] = [
  ...EXACT_FILTERS,
  ...RANGE_FILTERS,
  "since",
  "until",
  "q",
  "roots_only",
  "feedback",
];

export const SORT_KEYS = [
  "started_at",
  "latency_ms",
  "ttft_ms",
  "total_tokens",
  "prompt_tokens",
  "completion_tokens",
  "cost_usd",
  "op_name",
  "model",
  "status",
  "session_id",
  "user_id",
] as const;

export const DEFAULT_SORT: SortKey = "-started_at";

export const RANGES: Record<string, number> = {
  "15m": 15 * 60_000,
  "1h": 3_600_000,
  "24h": 86_400_000,
  "7d": 7 * 86_400_000,
  "30d": 30 * 86_400_000,
};

export function isFilterParam(name: string): boolean {
  return FILTER_PARAMS.includes(name) || (name.startsWith("property.") && name.length > 9);
}

/** The /api/calls filters (no sort, cursor or limit) for a page query string. */
export function filterParams(page: URLSearchParams, now: number = Date.now()): URLSearchParams {
  const out = new URLSearchParams();
  for (const [name, value] of page) {
    if (value !== "" && isFilterParam(name) && !out.has(name)) out.set(name, value);
  }
  const range = page.get("range");
  if (range && RANGES[range] !== undefined && !out.has("since")) {
    out.set("since", new Date(now - RANGES[range]).toISOString());
  }
  return out;
}

export function sortParam(page: URLSearchParams): SortKey {
  const sort = page.get("sort");
  const key = sort?.replace(/^-/, "");
  return sort && (SORT_KEYS as readonly string[]).includes(key ?? "") ? (sort as SortKey) : DEFAULT_SORT;
}

/** Whether the page shows any filter at all (for the empty state). */
export function hasFilters(page: URLSearchParams): boolean {
  return [...page.keys()].some((name) => isFilterParam(name) || name === "range");
}

/** The next sort when a column header is clicked: newest/largest first, then flip. */
export function toggleSort(current: SortKey, key: string): SortKey {
  const descending = `-${key}` as SortKey;
  return current === descending ? (key as SortKey) : descending;
}

/** A copy of `page` with `name` set (or removed when empty); paging state is reset. */
export function withParam(page: URLSearchParams, name: string, value: string | null): URLSearchParams {
  const next = new URLSearchParams(page);
  if (value === null || value === "") next.delete(name);
  else next.set(name, value);
  return next;
}
