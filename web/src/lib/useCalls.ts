/**
 * The traces table's data: keyset pages of `/api/calls` for one filter + sort, appended as
 * the user scrolls, and (when sorted newest first) live polling for calls newer than the
 * newest shown. Rows are kept slim (no inputs/output) so scrolling through many pages does
 * not hold every prompt in memory.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { api } from "../api/client";
import type { CallListItem } from "../api/types";

export type Row = Omit<CallListItem, "inputs" | "output">;

export const PAGE_SIZE = 100;
export const POLL_MS = 2_000;
/** A call is recorded when it ends, so one that started before the newest shown can still
 * appear later: each poll looks back this far and merges by id. */
export const LOOKBACK_MS = 5 * 60_000;

export function slim(call: CallListItem): Row {
  const { inputs: _i, output: _o, ...rest } = call;
  return rest;
}

const ts = (iso: string): number => Date.parse(iso);

/** Newest first, ties by id descending (the server's `-started_at` order). */
export function newestFirst(a: Row, b: Row): number {
  const d = ts(b.started_at) - ts(a.started_at);
  if (d !== 0) return d;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * `polled` (a `-started_at` page) merged into `rows` (sorted the same way): known ids are
 * updated in place, new ones inserted in order. `gap` says the poll was a full page whose
 * rows are all newer than anything shown, i.e. more arrived than one poll returns.
 */
export function mergeNewer(rows: Row[], polled: Row[], full: boolean): { rows: Row[]; added: number; gap: boolean } {
  if (polled.length === 0) return { rows, added: 0, gap: false };
  const index = new Map(rows.map((r, i) => [r.id, i]));
  const newest = rows[0];
  const gap = full && newest !== undefined && polled.every((p) => newestFirst(p, newest) < 0);
  let next: Row[] | null = null;
  const fresh: Row[] = [];
  for (const p of polled) {
    const at = index.get(p.id);
    if (at === undefined) fresh.push(p);
    else if (JSON.stringify(rows[at]) !== JSON.stringify(p)) {
      next ??= rows.slice();
      next[at] = p;
    }
  }
  const base = next ?? rows;
  if (fresh.length === 0) return { rows: base, added: 0, gap };
  // Keep only fresh rows that belong above the oldest loaded one (below it, paging finds them).
  const oldest = base[base.length - 1];
  const inRange = oldest ? fresh.filter((f) => newestFirst(f, oldest) <= 0) : fresh;
  return { rows: [...inRange, ...base].sort(newestFirst), added: inRange.length, gap };
}

export interface CallsState {
  rows: Row[];
  loading: boolean;
  loadingMore: boolean;
  error: Error | undefined;
  hasMore: boolean;
  /** Calls added by live polling since the query started. */
  liveAdded: number;
  loadMore: () => void;
  reload: () => void;
}

export function useCalls(query: URLSearchParams, sort: string, live: boolean): CallsState {
  const key = `${query.toString()}|${sort}`;
  const [rows, setRows] = useState<Row[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [fetching, setFetching] = useState(true);
  /** The query the rows answer: until the first page of a new query arrives, loading. */
  const [loadedKey, setLoadedKey] = useState<string | null>(null);
  const loading = fetching || loadedKey !== key;
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<Error>();
  const [liveAdded, setLiveAdded] = useState(0);
  const [tick, setTick] = useState(0);
  const rowsRef = useRef(rows);
  rowsRef.current = rows;
  const queryRef = useRef(query);
  queryRef.current = query;
  const moreCtrl = useRef<AbortController | null>(null);

  const params = useCallback(
    (extra: Record<string, string>) => {
      const p = new URLSearchParams(queryRef.current);
      if (sort !== "-started_at") p.set("sort", sort);
      p.set("limit", String(PAGE_SIZE));
      for (const [k, v] of Object.entries(extra)) p.set(k, v);
      return p;
    },
    [sort],
  );

  // First page whenever the query changes (old rows stay visible until the new ones come).
  useEffect(() => {
    const ctrl = new AbortController();
    moreCtrl.current?.abort();
    setFetching(true);
    setError(undefined);
    setLiveAdded(0);
    api.calls(params({}), ctrl.signal).then(
      (page) => {
        if (ctrl.signal.aborted) return;
        setRows(page.calls.map(slim));
        setCursor(page.next_cursor);
        setLoadedKey(key);
        setFetching(false);
        setLoadingMore(false);
      },
      (err: unknown) => {
        if (ctrl.signal.aborted) return;
        setError(err instanceof Error ? err : new Error(String(err)));
        setRows([]);
        setCursor(null);
        setLoadedKey(key);
        setFetching(false);
      },
    );
    return () => ctrl.abort();
  }, [key, tick]);

  const loadMore = useCallback(() => {
    if (!cursor || loading || loadingMore) return;
    const ctrl = new AbortController();
    moreCtrl.current = ctrl;
    setLoadingMore(true);
    api.calls(params({ cursor }), ctrl.signal).then(
      (page) => {
        if (ctrl.signal.aborted) return;
        setRows((old) => {
          const seen = new Set(old.map((r) => r.id));
          return [...old, ...page.calls.map(slim).filter((r) => !seen.has(r.id))];
        });
        setCursor(page.next_cursor);
        setLoadingMore(false);
      },
      (err: unknown) => {
        if (ctrl.signal.aborted) return;
        setError(err instanceof Error ? err : new Error(String(err)));
        setLoadingMore(false);
      },
    );
  }, [cursor, loading, loadingMore, params]);

  // Live: poll for newer calls when sorted newest first.
  const polling = live && sort === "-started_at" && !loading && !error;
  useEffect(() => {
    if (!polling) return;
    let ctrl: AbortController | null = null;
    let busy = false;
    const poll = () => {
      if (busy || document.visibilityState === "hidden") return;
      const until = queryRef.current.get("until");
      if (until && Date.parse(until) < Date.now()) return; // a closed time window gets nothing new
      const newest = rowsRef.current[0];
      const extra: Record<string, string> = {};
      if (newest) {
        const from = new Date(ts(newest.started_at) - LOOKBACK_MS);
        const own = queryRef.current.get("since");
        extra.since = own && Date.parse(own) > from.getTime() ? own : from.toISOString();
      }
      busy = true;
      ctrl = new AbortController();
      const signal = ctrl.signal;
      api.calls(params(extra), signal).then(
        (page) => {
          busy = false;
          if (signal.aborted) return;
          const polled = page.calls.map(slim);
          if (rowsRef.current.length === 0) {
            if (polled.length) {
              setRows(polled);
              setCursor(page.next_cursor);
              setLiveAdded((n) => n + polled.length);
            }
            return;
          }
          const merged = mergeNewer(rowsRef.current, polled, page.next_cursor !== null);
          if (merged.gap) {
            setRows(polled);
            setCursor(page.next_cursor);
            setLiveAdded((n) => n + polled.length);
          } else if (merged.rows !== rowsRef.current) {
            setRows(merged.rows);
            if (merged.added) setLiveAdded((n) => n + merged.added);
          }
        },
        () => {
          busy = false; // a failed poll is retried by the next one
        },
      );
    };
    const timer = window.setInterval(poll, POLL_MS);
    return () => {
      window.clearInterval(timer);
      ctrl?.abort();
    };
  }, [polling, key, params]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { rows, loading, loadingMore, error, hasMore: cursor !== null, liveAdded, loadMore, reload };
}
