import { render, screen, within } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import ComparePage from "./ComparePage";

function record(id: string, answer: string) {
  return {
    id,
    project: "default",
    trace_id: "1".repeat(32),
    parent_id: null,
    kind: "op",
    op_name: "summarize",
    display_name: null,
    started_at: "2026-01-05T09:00:00Z",
    ended_at: "2026-01-05T09:00:01Z",
    latency_ms: id === "aaaa" ? 1000 : 1500,
    ttft_ms: null,
    overhead_ms: null,
    status: "ok",
    http_status: null,
    model: null,
    response_model: null,
    inputs: { text: "the doc" },
    output: answer,
    usage: null,
    usage_source: null,
    cost_usd: null,
    error: null,
    session_id: null,
    user_id: null,
    key_fingerprint: null,
    attributes: {},
    op_version: null,
    model_version: null,
    prompt_digest: null,
  };
}

function json(body: unknown, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

function renderAt(url: string) {
  return render(
    <MemoryRouter initialEntries={[url]}>
      <Routes>
        <Route path="/compare" element={<ComparePage />} />
      </Routes>
    </MemoryRouter>,
  );
}

afterEach(() => vi.unstubAllGlobals());

describe("ComparePage", () => {
  it("shows the server's fields, in ids order, with a text diff of what differs", async () => {
    const paths: string[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (input: RequestInfo | URL) => {
        const url = new URL(String(input), "http://x");
        paths.push(url.pathname + url.search);
        return json({
          calls: [record("aaaa", "A short summary."), record("bbbb", "A much longer summary.")],
          fields: [{ section: "output", path: "output", values: ["A short summary.", "A much longer summary."], same: false }],
          differing_sections: ["output"],
          differing_fields: 1,
          truncated: true,
        });
      }),
    );
    renderAt("/compare?ids=aaaa,bbbb");
    const columns = await screen.findAllByTestId("compare-column");
    expect(columns.map((c) => c.dataset.callId)).toEqual(["aaaa", "bbbb"]);
    expect(paths).toEqual(["/api/compare?ids=aaaa%2Cbbbb"]);
    expect(screen.getAllByTestId("compare-field").map((r) => r.dataset.path)).toEqual(["output"]);
    const out = document.querySelector('[data-testid="compare-field"][data-path="output"]') as HTMLElement;
    expect(out.dataset.same).toBe("false");
    expect(within(out).getAllByTestId("diff-added").map((e) => e.textContent).join("")).toContain("much longer");
    expect(screen.getByTestId("compare-truncated")).toBeTruthy();
  });

  it("reports a missing call", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => json({ error: { message: "no call with id 'nope'", param: null } }, 404)));
    renderAt("/compare?ids=aaaa,nope");
    expect((await screen.findByRole("alert")).textContent).toContain("no call with id 'nope'");
  });

  it("offers a picker without ids", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => json({ calls: [], next_cursor: null })));
    renderAt("/compare");
    expect(await screen.findByTestId("compare-picker")).toBeTruthy();
    expect(await screen.findByText("No calls recorded yet.")).toBeTruthy();
  });
});
