import { describe, expect, it } from "vitest";
import type { TraceNode } from "../api/types";
import { ancestors, flatten, traceSpan } from "./tree";

function node(id: string, start: number, end: number | null, children: TraceNode[] = []): TraceNode {
  const base = new Date("2026-01-05T09:00:00Z").getTime();
  return {
    id, project: "p", trace_id: "t".repeat(32), parent_id: null, kind: "op", op_name: id, display_name: null,
    started_at: new Date(base + start).toISOString(), ended_at: end === null ? null : new Date(base + end).toISOString(),
    latency_ms: end === null ? null : end - start, ttft_ms: null, overhead_ms: null, status: end === null ? "running" : "ok",
    http_status: null, model: null, response_model: null, inputs: null, output: null, usage: null, usage_source: null,
    cost_usd: null, error: null, session_id: null, user_id: null, key_fingerprint: null, attributes: {}, op_version: null,
    model_version: null, prompt_digest: null, children,
  };
}

describe("tree", () => {
  const roots = [node("root", 0, 1000, [node("a", 0, 400, [node("a1", 100, 300)]), node("b", 500, null)])];

  it("places bars relative to the trace's start and span", () => {
    const rows = flatten(roots, new Set());
    expect(rows.map((r) => [r.node.id, r.depth])).toEqual([["root", 0], ["a", 1], ["a1", 2], ["b", 1]]);
    const a1 = rows[2];
    expect(a1?.offset).toBeCloseTo(0.1);
    expect(a1?.width).toBeCloseTo(0.2);
    const b = rows[3];
    expect(b?.open).toBe(true);
    expect((b?.offset ?? 0) + (b?.width ?? 0)).toBeCloseTo(1);
    expect(traceSpan(roots)).toEqual({ start: Date.parse(roots[0]!.started_at), end: Date.parse(roots[0]!.started_at) + 1000 });
  });

  it("leaves out collapsed subtrees and finds ancestors", () => {
    expect(flatten(roots, new Set(["a"])).map((r) => r.node.id)).toEqual(["root", "a", "b"]);
    expect(ancestors(roots, "a1")).toEqual(["a", "root"]);
  });

  it("handles a trace thousands of levels deep without recursion", () => {
    let deep = node("n0", 0, 10);
    for (let i = 1; i < 5000; i++) deep = node(`n${i}`, 0, 10, [deep]);
    expect(flatten([deep], new Set())).toHaveLength(5000);
  });
});
