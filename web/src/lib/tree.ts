/**
 * Trace trees -> the rows the trace view draws: depth-first, children in start order,
 * collapsed subtrees left out, each with the waterfall bar's offset and width (fractions of
 * the trace's span). Iterative, so a trace hundreds of levels deep cannot overflow the stack.
 */
import type { TraceNode } from "../api/types";

export interface TreeRow {
  node: TraceNode;
  depth: number;
  childCount: number;
  /** Bar start and width as fractions of the trace's time span (0..1). */
  offset: number;
  width: number;
  /** The node has no end (still running): its bar runs to the trace's end. */
  open: boolean;
}

export interface Span {
  start: number;
  end: number;
}

const time = (iso: string | null | undefined): number | null => {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
};

/** Every node, depth first. */
export function walk(roots: TraceNode[], visit: (node: TraceNode, depth: number) => boolean | void): void {
  const stack: [TraceNode, number][] = roots.map((r): [TraceNode, number] => [r, 0]).reverse();
  while (stack.length) {
    const [node, depth] = stack.pop() as [TraceNode, number];
    if (visit(node, depth) === false) continue; // false: do not descend
    for (let i = node.children.length - 1; i >= 0; i--) stack.push([node.children[i] as TraceNode, depth + 1]);
  }
}

/** The time span of all nodes (start of the earliest, end of the latest). */
export function traceSpan(roots: TraceNode[]): Span {
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  walk(roots, (n) => {
    const s = time(n.started_at);
    const e = time(n.ended_at) ?? (s !== null && n.latency_ms !== null ? s + n.latency_ms : null);
    if (s !== null) {
      start = Math.min(start, s);
      end = Math.max(end, s);
    }
    if (e !== null) end = Math.max(end, e);
  });
  if (!Number.isFinite(start)) return { start: 0, end: 1 };
  if (end <= start) end = start + 1;
  return { start, end };
}

export function flatten(roots: TraceNode[], collapsed: ReadonlySet<string>, span: Span = traceSpan(roots)): TreeRow[] {
  const rows: TreeRow[] = [];
  const total = span.end - span.start;
  walk(roots, (node, depth) => {
    const s = time(node.started_at) ?? span.start;
    const ended = time(node.ended_at) ?? (node.latency_ms !== null ? s + node.latency_ms : null);
    const e = ended ?? span.end;
    const offset = Math.min(1, Math.max(0, (s - span.start) / total));
    const width = Math.min(1 - offset, Math.max(0, (e - s) / total));
    rows.push({ node, depth, childCount: node.children.length, offset, width, open: ended === null });
    return !collapsed.has(node.id);
  });
  return rows;
}

export function countNodes(roots: TraceNode[]): number {
  let n = 0;
  walk(roots, () => {
    n += 1;
  });
  return n;
}

export function findNode(roots: TraceNode[], id: string): TraceNode | undefined {
  let found: TraceNode | undefined;
  walk(roots, (n) => {
    if (found) return false;
    if (n.id === id) found = n;
    return undefined;
  });
  return found;
}

/** Ids of every ancestor of `id` (to expand the path to a selected node). */
export function ancestors(roots: TraceNode[], id: string): string[] {
  const parent = new Map<string, string>();
  walk(roots, (n) => {
    for (const c of n.children) parent.set(c.id, n.id);
  });
  const out: string[] = [];
  let at = parent.get(id);
  while (at !== undefined && !out.includes(at)) {
    out.push(at);
    at = parent.get(at);
  }
  return out;
}

/** Tick marks for the waterfall's time axis: `count` evenly spaced, in ms from the start. */
export function ticks(totalMs: number, count = 5): number[] {
  return Array.from({ length: count + 1 }, (_, i) => (totalMs * i) / count);
}
