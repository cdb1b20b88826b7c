import { fireEvent, render, screen, within } from "@testing-library/react";
import { MemoryRouter, Route, Routes, useLocation } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import ModelsPage from "./ModelsPage";
import OpsPage from "./OpsPage";

const V1 = "def f(x):\n    return x + 1\n";
const V2 = "def f(x):\n    return x + 2\n";

function opVersion(version: number, source: string) {
  return {
    project: "default",
    op_name: "f",
    version,
    digest: `${version}`.repeat(16),
    source,
    module: "m",
    qualname: "f",
    created_at: "2026-01-05T09:00:00Z",
    calls: version,
  };
}

const ROUTES: Record<string, unknown> = {
  "/api/ops": { ops: [{ project: "default", name: "f", versions: 2, latest_version: "2".repeat(16), calls: 3, last_called_at: null }] },
  "/api/ops/f/versions": { op_name: "f", versions: [opVersion(1, V1), opVersion(2, V2)] },
  "/api/prompts": { prompts: [] },
  "/api/calls": { calls: [], next_cursor: null },
  "/api/models": { models: [{ project: "default", name: "M", versions: 2 }] },
  "/api/models/M/versions": {
    name: "M",
    versions: [
      { project: "default", name: "M", version: 1, digest: "a".repeat(16), attributes: { t: 0.1, k: "x" }, source: { run: "a\n" }, created_at: "2026-01-05T09:00:00Z", calls: 1 },
      { project: "default", name: "M", version: 2, digest: "b".repeat(16), attributes: { t: 0.5, k: "x", extra: true }, source: { run: "b\n" }, created_at: "2026-01-06T09:00:00Z", calls: 0 },
    ],
  },
};

function stub() {
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL) => {
      const path = new URL(String(input), "http://x").pathname;
      const body = ROUTES[path];
      return body === undefined
        ? new Response(JSON.stringify({ error: { message: `no ${path}`, param: null } }), { status: 404 })
        : new Response(JSON.stringify(body), { status: 200 });
    }),
  );
}

function Where() {
  const loc = useLocation();
  return <div data-testid="where">{loc.pathname + loc.search}</div>;
}

function renderAt(url: string) {
  return render(
    <MemoryRouter initialEntries={[url]}>
      <Routes>
        <Route path="/ops" element={<OpsPage />} />
        <Route path="/ops/:name" element={<OpsPage />} />
        <Route path="/models" element={<ModelsPage />} />
        <Route path="/models/:name" element={<ModelsPage />} />
      </Routes>
      <Where />
    </MemoryRouter>,
  );
}

afterEach(() => vi.unstubAllGlobals());

describe("OpsPage", () => {
  it("lists ops with their version counts", async () => {
    stub();
    renderAt("/ops");
    const row = await screen.findByTestId("op-row");
    expect(within(row).getByTestId("op-version-count").textContent).toBe("2");
    expect(within(row).getByRole("link", { name: "f" }).getAttribute("href")).toBe("/ops/f");
  });

  it("diffs the latest two versions, swaps them through the URL and shows a source", async () => {
    stub();
    renderAt("/ops/f");
    expect(await screen.findAllByTestId("op-version")).toHaveLength(2);
    const diff = screen.getByTestId("version-diff");
    expect(within(diff).getAllByTestId("diff-removed").map((e) => e.textContent)).toEqual(["2-    return x + 1"]);
    expect(within(diff).getAllByTestId("diff-added").map((e) => e.textContent)).toEqual(["2+    return x + 2"]);
    expect(screen.getByTestId("op-source").textContent).toBe(V2);
    fireEvent.click(screen.getByTestId("diff-swap"));
    expect(screen.getByTestId("where").textContent).toBe("/ops/f?from=2&to=1");
    expect(within(screen.getByTestId("version-diff")).getAllByTestId("diff-added").map((e) => e.textContent)).toEqual(["2+    return x + 1"]);
    fireEvent.click(screen.getAllByTestId("op-version-show")[0]!);
    expect(screen.getByTestId("op-source").textContent).toBe(V1);
    expect(screen.getAllByTestId("op-version-calls")[0]?.getAttribute("href")).toBe(`/?op_name=f&op_version=${"1".repeat(16)}`);
  });

  it("reports an unknown op", async () => {
    stub();
    renderAt("/ops/nope");
    expect((await screen.findByRole("alert")).textContent).toContain("no /api/ops/nope/versions");
  });
});

describe("ModelsPage", () => {
  it("shows each version's attributes and the difference of two", async () => {
    stub();
    renderAt("/models/M");
    const versions = await screen.findAllByTestId("model-version");
    expect(within(versions[1]!).getAllByTestId("model-attribute").map((a) => a.dataset.name)).toEqual(["t", "k", "extra"]);
    const changes = within(screen.getByTestId("attribute-diff")).getAllByTestId("attribute-change");
    expect(changes.map((c) => [c.dataset.name, c.dataset.change])).toEqual([
      ["t", "changed"],
      ["extra", "added"],
    ]);
    const method = screen.getByTestId("method-diff");
    expect(method.dataset.method).toBe("run");
    expect(within(method).getByTestId("diff-added").textContent).toBe("1+b");
  });
});
