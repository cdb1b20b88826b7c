/**
 * One trace: the tree of SDK spans and proxied calls with a waterfall (bars placed by
 * started_at/ended_at relative to the trace's start), collapse/expand, and the selected
 * node's full detail (`?node=<id>`, so a selection is a shareable link).
 */
import { useVirtualizer } from "@tanstack/react-virtual";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { api } from "../api/client";
import type { Feedback, Trace, TraceNode } from "../api/types";
import { CallDetail, callName } from "../components/CallDetail";
import { StatusBadge, ErrorBox, Loading } from "../components/Status";
import { fmtCost, fmtInt, fmtMs, fmtTime } from "../lib/format";
import { ancestors, countNodes, findNode, flatten, ticks, traceSpan, walk, type TreeRow } from "../lib/tree";
import { useApi } from "../lib/useApi";
import { useTitle } from "../lib/useTitle";

const TREE_ROW_HEIGHT = 30;

function TreeRowView({
  row,
  top,
  selected,
  collapsed,
  onSelect,
  onToggle,
}: {
  row: TreeRow;
  top: number;
  selected: boolean;
  collapsed: boolean;
  onSelect: (id: string) => void;
  onToggle: (id: string) => void;
}) {
  const { node } = row;
  return (
    <div
      className={`tree-row ${selected ? "selected" : ""} status-row-${node.status}`}
      data-testid="tree-node"
      data-node-id={node.id}
      data-depth={row.depth}
      role="treeitem"
      aria-selected={selected}
      aria-expanded={row.childCount ? !collapsed : undefined}
      style={{ transform: `translateY(${top}px)` }}
      onClick={() => onSelect(node.id)}
    >
      <div className="tree-label" style={{ paddingLeft: 8 + row.depth * 16 }}>
        {row.childCount > 0 ? (
          <button
            type="button"
            className="tree-toggle"
            data-testid="tree-toggle"
            aria-label={collapsed ? "expand" : "collapse"}
            onClick={(e) => {
              e.stopPropagation();
              onToggle(node.id);
            }}
          >
            {collapsed ? "▸" : "▾"}
          </button>
        ) : (
          <span className="tree-toggle-space" />
        )}
        <span className={`tag kind-${node.kind}`}>{node.kind}</span>
        <span className="tree-name" title={callName(node)}>
          {callName(node)}
        </span>
        {node.model && <span className="muted tree-model">{node.model}</span>}
        {collapsed && row.childCount > 0 && <span className="muted small"> +{row.childCount}</span>}
        {node.status !== "ok" && <StatusBadge status={node.status} http={node.http_status} />}
      </div>
      <div className="tree-duration">{fmtMs(node.latency_ms)}</div>
      <div className="waterfall-cell">
        <div
          className={`bar bar-${node.kind} bar-${node.status} ${row.open ? "bar-open" : ""}`}
          data-testid="waterfall-bar"
          style={{ left: `${row.offset * 100}%`, width: `max(2px, ${row.width * 100}%)` }}
          title={`${callName(node)}: ${fmtMs(node.latency_ms)}${node.ttft_ms !== null ? ` (first token after ${fmtMs(node.ttft_ms)})` : ""}`}
        >
          {node.ttft_ms !== null && node.latency_ms ? (
            <span className="bar-ttft" style={{ width: `${Math.min(100, (node.ttft_ms / node.latency_ms) * 100)}%` }} />
          ) : null}
        </div>
      </div>
    </div>
  );
}

function Axis({ totalMs }: { totalMs: number }) {
  return (
    <div className="tree-row tree-axis">
      <div className="tree-label muted">span</div>
      <div className="tree-duration muted">duration</div>
      <div className="waterfall-cell axis-cell">
        {ticks(totalMs, 4).map((t, i, all) => (
          <span key={i} className="tick" style={{ left: `${(i / (all.length - 1)) * 100}%` }}>
            {fmtMs(t)}
          </span>
        ))}
      </div>
    </div>
  );
}

function SelectedDetail({ node }: { node: TraceNode }) {
  // The trace already holds the record; the call endpoint adds its feedback.
  const full = useApi((signal) => api.call(node.id, signal), [node.id]);
  const feedback: Feedback[] | undefined = full.data?.feedback;
  return (
    <div className="trace-detail" data-testid="node-detail">
      <div className="detail-links">
        <Link to={`/calls/${node.id}`} data-testid="open-call">
          Open call page →
        </Link>
      </div>
      <CallDetail call={node} feedback={feedback} />
    </div>
  );
}

function summaryCost(roots: TraceNode[]): number | null {
  let total: number | null = null;
  walk(roots, (n) => {
    if (n.cost_usd !== null) total = (total ?? 0) + n.cost_usd;
  });
  return total;
}

export function TraceView({ trace }: { trace: Trace }) {
  const [params, setParams] = useSearchParams();
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const span = useMemo(() => traceSpan(trace.roots), [trace]);
  const rows = useMemo(() => flatten(trace.roots, collapsed, span), [trace, collapsed, span]);
  const total = useMemo(() => countNodes(trace.roots), [trace]);
  const cost = useMemo(() => summaryCost(trace.roots), [trace]);
  const selectedId = params.get("node") ?? trace.roots[0]?.id ?? null;
  const selected = useMemo(() => (selectedId ? findNode(trace.roots, selectedId) : undefined), [trace, selectedId]);

  // A selected node inside a collapsed subtree: expand its path.
  useEffect(() => {
    if (!selectedId) return;
    const path = ancestors(trace.roots, selectedId);
    if (path.some((id) => collapsed.has(id))) {
      setCollapsed((c) => new Set([...c].filter((id) => !path.includes(id))));
    }
  }, [selectedId, trace]);

  const select = useCallback(
    (id: string) => {
      const next = new URLSearchParams(params);
      next.set("node", id);
      setParams(next, { replace: true });
    },
    [params, setParams],
  );
  const toggle = useCallback((id: string) => {
    setCollapsed((c) => {
      const next = new Set(c);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  }, []);
  const collapseAll = () => {
    const ids = new Set<string>();
    walk(trace.roots, (n) => {
      if (n.children.length) ids.add(n.id);
    });
    setCollapsed(ids);
  };

  // Virtualised: a trace of thousands of spans puts only a screenful of rows in the DOM.
  const treeRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => treeRef.current,
    estimateSize: () => TREE_ROW_HEIGHT,
    overscan: 20,
    getItemKey: (i) => rows[i]?.node.id ?? i,
  });
  // Opened on a node (a link from the table): bring it into view once.
  const scrolled = useRef(false);
  useEffect(() => {
    if (scrolled.current || !params.get("node")) return;
    const at = rows.findIndex((r) => r.node.id === selectedId);
    if (at >= 0) {
      scrolled.current = true;
      virtualizer.scrollToIndex(at, { align: "center" });
    }
  }, [rows, selectedId, params, virtualizer]);

  const s = trace.summary;
  return (
    <div className="trace-page" data-testid="trace-page">
      <div className="trace-head">
        <h1>
          Trace <span className="mono small">{trace.trace_id}</span>
        </h1>
        <div className="trace-summary" data-testid="trace-summary">
          <span>{fmtTime(s.started_at)}</span>
          <span>
            <strong>{fmtMs(s.duration_ms)}</strong> total
          </span>
          <span>
            {fmtInt(s.calls)} spans · {fmtInt(s.llm_calls)} LLM calls
          </span>
          {s.errors > 0 && <span className="err">{fmtInt(s.errors)} errors</span>}
          <span>{fmtInt(s.total_tokens)} tokens</span>
          <span>{fmtCost(cost)}</span>
        </div>
      </div>
      <div className="trace-split">
        <div className="trace-tree-pane">
          <div className="tree-tools">
            <button type="button" className="btn btn-small" onClick={() => setCollapsed(new Set())} data-testid="expand-all">
              Expand all
            </button>
            <button type="button" className="btn btn-small" onClick={collapseAll} data-testid="collapse-all">
              Collapse all
            </button>
            <span className="muted small">
              {rows.length === total ? `${fmtInt(total)} nodes` : `${fmtInt(rows.length)} of ${fmtInt(total)} nodes shown`}
            </span>
          </div>
          <Axis totalMs={span.end - span.start} />
          <div className="tree" role="tree" data-testid="trace-tree" ref={treeRef}>
            <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
              {virtualizer.getVirtualItems().map((item) => {
                const row = rows[item.index] as TreeRow;
                return (
                  <TreeRowView
                    key={row.node.id}
                    row={row}
                    top={item.start}
                    selected={row.node.id === selectedId}
                    collapsed={collapsed.has(row.node.id)}
                    onSelect={select}
                    onToggle={toggle}
                  />
                );
              })}
            </div>
          </div>
        </div>
        <div className="trace-detail-pane">
          {selected ? <SelectedDetail key={selected.id} node={selected} /> : <p className="muted">Select a span to see its detail.</p>}
        </div>
      </div>
    </div>
  );
}

export function TracePage() {
  const { traceId = "" } = useParams();
  const { data, error, loading } = useApi((signal) => api.trace(traceId, signal), [traceId]);
  useTitle(data?.roots[0] ? `${callName(data.roots[0])} (trace)` : "Trace");
  if (error) {
    return (
      <div className="page">
        <ErrorBox error={error} />
        <Link to="/">← All traces</Link>
      </div>
    );
  }
  if (loading || !data) return <Loading what="Loading trace" />;
  return <TraceView trace={data} />;
}
