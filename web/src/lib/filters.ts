/**
 * The traces table's state lives in the page URL (shareable, back button works). This
 * module maps the page's query string to the `/api/calls` query: only parameters the API
 * accepts are passed on (it refuses unknown ones with a 400), and a relative `range`
 * (`24h`) becomes `since` at request time, so a shared "last 24 hours" link stays relative.
 */
import type { SortKey } from "../api/types";
import { CALL_SORTS, DEFAULT_CALL_SORT, FILTER_PARAMS as SERVER_FILTERS } from "../api/vocabulary";

/** Every filter parameter /api/calls takes, besides `property.<key>` (the server's list). */
export const FILTER_PARAMS: readonly string[] = SERVER_FILTERS;

export const DEFAULT_SORT: SortKey = DEFAULT_CALL_SORT;

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

function isSortKey(value: string | null): value is SortKey {
  return value !== null && (CALL_SORTS as readonly string[]).includes(value);
}

export function sortParam(page: URLSearchParams): SortKey {
  const sort = page.get("sort");
  return isSortKey(sort) ? sort : DEFAULT_SORT;
}

/** Whether the page shows any filter at all (for the empty state). */
export function hasFilters(page: URLSearchParams): boolean {
  return [...page.keys()].some((name) => isFilterParam(name) || name === "range");
}

/** The next sort when a column header is clicked: newest/largest first, then flip. */
export function toggleSort(current: SortKey, key: string): SortKey {
  const descending = `-${key}`;
  if (!isSortKey(descending) || !isSortKey(key)) return current;
  return current === descending ? key : descending;
}

/** A copy of `page` with `name` set (or removed when empty); paging state is reset. */
export function withParam(page: URLSearchParams, name: string, value: string | null): URLSearchParams {
  const next = new URLSearchParams(page);
  if (value === null || value === "") next.delete(name);
  else next.set(name, value);
  return next;
}
