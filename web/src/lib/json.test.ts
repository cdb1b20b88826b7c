import { describe, expect, it } from "vitest";
import { childPath, flatten, mergeOrder, sameValue } from "./json";

describe("flatten", () => {
  it("walks nested objects and arrays with JS-like paths", () => {
    expect(flatten({ a: { b: [1, { c: "x" }] }, "odd key": true }, "inputs")).toEqual([
      ["inputs.a.b[0]", 1],
      ["inputs.a.b[1].c", "x"],
      ['inputs["odd key"]', true],
    ]);
  });
  it("keeps empty containers as leaves, so {} differs from missing", () => {
    expect(flatten({ tools: [], meta: {} }, "p")).toEqual([
      ["p.tools", []],
      ["p.meta", {}],
    ]);
  });
  it("bounds the leaves: the rest of the subtree becomes one leaf", () => {
    const big = Array.from({ length: 50 }, (_, i) => ({ i }));
    const leaves = flatten(big, "x", 10);
    expect(leaves).toHaveLength(10);
    expect(leaves[8]).toEqual(["x[8].i", 8]);
    expect(leaves[9]).toEqual(["x[9:]", big.slice(9)]);
  });
  it("keeps long scalar lists (embeddings) as one leaf", () => {
    const vec = Array.from({ length: 64 }, (_, i) => i);
    expect(flatten({ embedding: vec }, "o")).toEqual([["o.embedding", vec]]);
  });
  it("quotes keys that are not identifiers", () => {
    expect(childPath("a", "b-c")).toBe('a["b-c"]');
    expect(childPath("", "ok")).toBe("ok");
  });
});

describe("mergeOrder", () => {
  it("puts a path new in a later list right after its predecessor", () => {
    expect(mergeOrder([["m[0]", "m[1]", "z"], ["m[0]", "m[1]", "m[2]", "z"]])).toEqual(["m[0]", "m[1]", "m[2]", "z"]);
  });
  it("keeps paths only some lists have", () => {
    expect(mergeOrder([["a", "c"], ["b", "c", "d"]])).toEqual(["b", "a", "c", "d"]);
  });
});

describe("sameValue", () => {
  it("compares leaves deeply", () => {
    expect(sameValue({ a: [1] }, { a: [1] })).toBe(true);
    expect(sameValue({ a: [1] }, { a: [2] })).toBe(false);
    expect(sameValue(null, 0)).toBe(false);
    expect(sameValue("1", 1)).toBe(false);
    expect(sameValue(NaN, NaN)).toBe(true);
  });
});
