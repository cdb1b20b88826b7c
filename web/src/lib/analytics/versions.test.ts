import { describe, expect, it } from "vitest";
import { attributeDiff, diffPair, methodSources, pickVersion, shortDigest } from "./versions";

const vs = [1, 2, 3, 4].map((version) => ({ version, digest: `d${version}` }));

describe("picking versions", () => {
  it("defaults to the latest and the one before", () => {
    expect(diffPair(vs, null, null)).toEqual({ from: vs[2], to: vs[3] });
  });
  it("takes the URL's versions, and the one before `to` when only `to` is given", () => {
    expect(diffPair(vs, "1", "3")).toEqual({ from: vs[0], to: vs[2] });
    expect(diffPair(vs, null, "2")).toEqual({ from: vs[0], to: vs[1] });
    expect(diffPair(vs, null, "1")).toEqual({ from: vs[1], to: vs[0] });
    expect(diffPair(vs, "9", "x")).toEqual({ from: vs[2], to: vs[3] });
  });
  it("has nothing to diff with one version", () => {
    expect(diffPair(vs.slice(0, 1), null, null)).toBeNull();
    expect(pickVersion(vs, "2", undefined)).toBe(vs[1]);
    expect(pickVersion(vs, null, vs[3])).toBe(vs[3]);
  });
});

describe("attributeDiff", () => {
  it("reports added, removed, changed and unchanged attributes, nested ones by path", () => {
    const rows = attributeDiff(
      { temperature: 0.2, prompt: "Summarize:", retriever: { k: 3, index: "docs" }, old: true },
      { temperature: 0.7, prompt: "Summarize:", retriever: { k: 5, index: "docs" }, style: "bullets" },
    );
    const byPath = Object.fromEntries(rows.map((r) => [r.path, r]));
    expect(byPath.temperature).toMatchObject({ change: "changed", before: 0.2, after: 0.7 });
    expect(byPath.prompt?.change).toBe("same");
    expect(byPath["retriever.k"]).toMatchObject({ change: "changed", before: 3, after: 5 });
    expect(byPath["retriever.index"]?.change).toBe("same");
    expect(byPath.old).toMatchObject({ change: "removed", before: true, after: undefined });
    expect(byPath.style).toMatchObject({ change: "added", after: "bullets" });
  });
  it("handles missing attributes", () => {
    expect(attributeDiff(null, { a: 1 })).toEqual([{ path: "a", before: undefined, after: 1, change: "added" }]);
    expect(attributeDiff({ a: 1 }, {})).toEqual([{ path: "a", before: 1, after: undefined, change: "removed" }]);
    expect(attributeDiff("v1", "v2")).toEqual([{ path: "(value)", before: "v1", after: "v2", change: "changed" }]);
  });
});

describe("methodSources", () => {
  it("reads {method: source} and tolerates other shapes", () => {
    expect(methodSources({ predict: "def predict(self): ..." })).toEqual({ predict: "def predict(self): ..." });
    expect(methodSources(null)).toEqual({});
    expect(methodSources("src")).toEqual({ source: "src" });
    expect(shortDigest("0123456789abcdef")).toBe("01234567");
  });
});
