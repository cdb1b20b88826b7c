/**
 * `/`: every recorded call (or only root traces), newest first by default. Filters and sort
 * live in the URL; rows come in keyset pages as the list scrolls (virtualised: only visible
 * rows are in the DOM, so the depth of the list does not matter); new calls appear live
 * when sorted by start time, newest first. Select 2–4 rows to compare them.
 */
import { useVirtualizer } from "@tanstack/react-virtual";
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type MouseEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { api } from "../api/client";
import { EmptyState } from "../components/EmptyState";
import { ActiveFilters, FilterBar } from "../components/FilterBar";
import { MakeDataset } from "../components/evaluations/MakeDataset";
import { StatusBadge, ErrorBox } from "../components/Status";
import { DEFAULT_SORT, filterParams, isFilterParam, sortParam, toggleSort } from "../lib/filters";
import { fmtCost, fmtInt, fmtMs, fmtTime, fmtWhen } from "../lib/format";
import { useCalls, type Row } from "../lib/useCalls";
import { useTitle } from "../lib/useTitle";

export const ROW_HEIGHT = 36;
export const MAX_COMPARE = 4;

interface Column {
  key: string;
  label: string;
  sort?: string;
  className?: string;
  title?: string;
}

export const COLUMNS: Column[] = [
  { key: "op", label: "op", sort: "op_name" },
  { key: "model", label: "model", sort: "model" },
  { key: "status", label: "status", sort: "status" },
  { key: "started", label: "started", sort: "started_at" },
  { key: "latency", label: "latency", sort: "latency_ms", className: "num" },
  { key: "ttft", label: "ttft", sort: "ttft_ms", className: "num", title: "time to first token" },
  { key: "prompt", label: "prompt", sort: "prompt_tokens", className: "num", title: "prompt tokens" },
  { key: "completion", label: "compl.", sort: "completion_tokens", className: "num", title: "completion tokens" },
  { key: "total", label: "tokens", sort: "total_tokens", className: "num", title: "total tokens" },
  { key: "cost", label: "cost", sort: "cost_usd", className: "num" },
  { key: "session", label: "session", sort: "session_id" },
  { key: "user", label: "user", sort: "user_id" },
];

function FilterValue({ value, onFilter, testId }: { value: string | null; onFilter: (v: string) => void; testId: string }) {
  if (!value) return <span className="muted">—</span>;
  return (
    <button
      type="button"
      className="cell-filter"
      title={`filter by ${value}`}
      data-testid={testId}
      onClick={(e: MouseEvent) => {
        e.stopPropagation();
        onFilter(value);
      }}
    >
      {value}
    </button>
  );
}

function CallRow({
  row,
  top,
  selected,
  canSelect,
  onToggle,
  onOpen,
  onFilter,
  now,
}: {
  row: Row;
  top: number;
  selected: boolean;
  canSelect: boolean;
  onToggle: (id: string) => void;
  onOpen: (row: Row) => void;
  onFilter: (name: string, value: string) => void;
  now: number;
}) {
  const u = row.usage;
  const href = `/traces/${row.trace_id}?node=${row.id}`;
  return (
    <div
      className={`grid-row call-row ${selected ? "selected" : ""}`}
      style={{ transform: `translateY(${top}px)` }}
      data-testid="call-row"
      data-call-id={row.id}
      data-trace-id={row.trace_id}
      role="row"
      tabIndex={0}
      onClick={() => onOpen(row)}
      onKeyDown={(e) => {
        if (e.target !== e.currentTarget) return;
        if (e.key === "Enter") onOpen(row);
        else if (e.key === " " && (selected || canSelect)) {
          e.preventDefault();
          onToggle(row.id);
        }
      }}
    >
      <div className="cell cell-select" onClick={(e) => e.stopPropagation()}>
        <input
          type="checkbox"
          checked={selected}
          disabled={!selected && !canSelect}
          aria-label="select for compare"
          data-testid="row-select"
          onChange={() => onToggle(row.id)}
        />
      </div>
      <div className="cell cell-op" data-testid="cell-op" title={row.display_name ? `${row.display_name} (${row.op_name})` : row.op_name}>
        <span className={`kind-dot kind-${row.kind}`} />
        <Link to={href} onClick={(e) => e.stopPropagation()}>
          {row.display_name || row.op_name}
        </Link>
      </div>
      <div className="cell" data-testid="cell-model">
        <FilterValue value={row.model} onFilter={(v) => onFilter("model", v)} testId="filter-by-model" />
      </div>
      <div className="cell" data-testid="cell-status">
        <StatusBadge status={row.status} http={row.http_status} />
      </div>
      <div className="cell" data-testid="cell-started" title={fmtTime(row.started_at)}>
        {fmtWhen(row.started_at, now)}
      </div>
      <div className="cell num" data-testid="cell-latency">{fmtMs(row.latency_ms)}</div>
      <div className="cell num" data-testid="cell-ttft">{fmtMs(row.ttft_ms)}</div>
      <div className="cell num" data-testid="cell-prompt">{fmtInt(u?.prompt_tokens)}</div>
      <div className="cell num" data-testid="cell-completion">{fmtInt(u?.completion_tokens)}</div>
      <div className="cell num" data-testid="cell-total">{fmtInt(u?.total_tokens)}</div>
      <div className="cell num" data-testid="cell-cost">{fmtCost(row.cost_usd)}</div>
      <div className="cell" data-testid="cell-session">
        <FilterValue value={row.session_id} onFilter={(v) => onFilter("session_id", v)} testId="filter-by-session" />
      </div>
      <div className="cell" data-testid="cell-user">
        <FilterValue value={row.user_id} onFilter={(v) => onFilter("user_id", v)} testId="filter-by-user" />
      </div>
    </div>
  );
}

function useSuggestions(): { model?: string[]; op_name?: string[] } {
  const [out, setOut] = useState<{ model?: string[]; op_name?: string[] }>({});
  useEffect(() => {
    const ctrl = new AbortController();
    // After the table's own first request: suggestions are a nicety, never in its way.
    const timer = window.setTimeout(() => {
      for (const group of ["model", "op_name"] as const) {
        api.stats(new URLSearchParams({ group_by: group, limit: "100" }), ctrl.signal).then(
          (r) => setOut((o) => ({ ...o, [group]: r.groups.map((g) => String(g.key ?? "")).filter(Boolean) })),
          () => undefined,
        );
      }
    }, 1_500);
    return () => {
      window.clearTimeout(timer);
      ctrl.abort();
    };
  }, []);
  return out;
}

export function TracesPage() {
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const search = params.toString();
  const query = useMemo(() => filterParams(params), [search]);
  const sort = sortParam(params);
  const [live, setLive] = useState(true);
  const calls = useCalls(query, sort, live);
  const [selected, setSelected] = useState<string[]>([]);
  const [now, setNow] = useState(() => Date.now());
  const suggestions = useSuggestions();
  const scrollRef = useRef<HTMLDivElement>(null);
  useTitle("Traces");

  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), 15_000);
    return () => window.clearInterval(t);
  }, []);

  const set = useCallback(
    (changes: Record<string, string | null>) => {
      const next = new URLSearchParams(params);
      for (const [k, v] of Object.entries(changes)) {
        if (v === null || v === "") next.delete(k);
        else next.set(k, v);
      }
      if (next.get("sort") === DEFAULT_SORT) next.delete("sort");
      if (next.toString() !== params.toString()) setParams(next);
    },
    [params, setParams],
  );

  // Back to the top when the query changes.
  useEffect(() => {
    scrollRef.current?.scrollTo({ top: 0 });
  }, [search]);

  const { rows, hasMore, loadMore, loadingMore } = calls;

  // Live rows arrive on top: a user who scrolled down keeps looking at the same rows.
  const firstId = useRef<string | undefined>(undefined);
  useLayoutEffect(() => {
    const el = scrollRef.current;
    const before = firstId.current;
    firstId.current = rows[0]?.id;
    if (!el || !before || el.scrollTop < ROW_HEIGHT) return;
    const moved = rows.findIndex((r) => r.id === before);
    if (moved > 0) el.scrollTop += moved * ROW_HEIGHT;
  }, [rows]);
  const virtualizer = useVirtualizer({
    count: rows.length + (hasMore ? 1 : 0),
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 15,
    getItemKey: (i) => rows[i]?.id ?? "loader",
  });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items.length ? (items[items.length - 1]?.index ?? 0) : 0;
  useEffect(() => {
    if (hasMore && !loadingMore && lastIndex >= rows.length - 30) loadMore();
  }, [hasMore, loadingMore, lastIndex, rows.length, loadMore]);

  const toggle = useCallback((id: string) => {
    setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : s.length < MAX_COMPARE ? [...s, id] : s));
  }, []);
  const open = useCallback((row: Row) => navigate(`/traces/${row.trace_id}?node=${row.id}`), [navigate]);
  const filterBy = useCallback((name: string, value: string) => set({ [name]: value }), [set]);

  const activeNames = [...new Set([...params.keys()].filter((n) => isFilterParam(n) || n === "range"))];
  const filtered = activeNames.length > 0;
  const liveOn = live && sort === DEFAULT_SORT;

  if (!calls.loading && !calls.error && rows.length === 0 && !filtered) {
    return (
      <div className="page">
        <EmptyState />
      </div>
    );
  }

  return (
    <div className="traces-page" data-testid="traces-page" data-search={search}>
      <FilterBar params={params} set={set} suggestions={suggestions} />
      <div className="table-toolbar">
        <ActiveFilters params={params} set={set} names={activeNames} />
        <span className="nav-spacer" />
        <span className="muted small" data-testid="row-count">
          {calls.loading ? "loading…" : `${fmtInt(rows.length)}${hasMore ? "+" : ""} ${params.get("roots_only") === "true" ? "traces" : "calls"}`}
        </span>
        <button
          type="button"
          className={`btn btn-small live ${liveOn ? "on" : ""}`}
          data-testid="live-toggle"
          title={sort === DEFAULT_SORT ? "new calls appear as they are recorded" : "live updates need the newest-first order"}
          disabled={sort !== DEFAULT_SORT}
          onClick={() => setLive(!live)}
        >
          {liveOn ? "● live" : "○ paused"}
        </button>
        <MakeDataset filters={query} />
        <button
          type="button"
          className="btn btn-primary"
          data-testid="compare-button"
          disabled={selected.length < 2}
          title="select 2 to 4 calls"
          onClick={() => navigate(`/compare?ids=${selected.join(",")}`)}
        >
          Compare{selected.length ? ` (${selected.length})` : ""}
        </button>
        {selected.length > 0 && (
          <button type="button" className="btn btn-link" onClick={() => setSelected([])} data-testid="clear-selection">
            clear selection
          </button>
        )}
      </div>
      {calls.error && <ErrorBox error={calls.error} />}
      <div className={`calls-table ${calls.loading ? "is-loading" : ""}`} data-testid="calls-table" role="table" aria-busy={calls.loading}>
        <div className="grid-row grid-head" role="row">
          <div className="cell cell-select" />
          {COLUMNS.map((col) => {
            const active = sort.replace(/^-/, "") === col.sort;
            const arrow = active ? (sort.startsWith("-") ? " ▼" : " ▲") : "";
            return (
              <div key={col.key} className={`cell ${col.className ?? ""}`} role="columnheader" title={col.title} aria-sort={active ? (sort.startsWith("-") ? "descending" : "ascending") : undefined}>
                {col.sort ? (
                  <button
                    type="button"
                    className={`sort ${active ? "active" : ""}`}
                    data-testid={`sort-${col.sort}`}
                    onClick={() => set({ sort: toggleSort(sort, col.sort as string) })}
                  >
                    {col.label}
                    {arrow}
                  </button>
                ) : (
                  col.label
                )}
              </div>
            );
          })}
        </div>
        <div className="grid-body" ref={scrollRef} data-testid="calls-scroll">
          {!calls.loading && rows.length === 0 && (
            <div className="no-results" data-testid="no-results">
              No calls match these filters.{" "}
              <button type="button" className="btn btn-link" onClick={() => set(Object.fromEntries(activeNames.map((n) => [n, null])))}>
                Clear filters
              </button>
            </div>
          )}
          <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
            {items.map((item) => {
              const row = rows[item.index];
              if (!row) {
                return (
                  <div key="loader" className="grid-row loader-row muted" style={{ transform: `translateY(${item.start}px)` }} data-testid="loading-more">
                    loading more…
                  </div>
                );
              }
              return (
                <CallRow
                  key={row.id}
                  row={row}
                  top={item.start}
                  selected={selected.includes(row.id)}
                  canSelect={selected.length < MAX_COMPARE}
                  onToggle={toggle}
                  onOpen={open}
                  onFilter={filterBy}
                  now={now}
                />
              );
            })}
          </div>
        </div>
      </div>
    </div>
  );
}
