import { describe, expect, it } from "vitest";
import { bySection, childPath, compareRecords, flatten, mergeOrder, parseIds, sameValue, type CompareField } from "./fields";

function rec(over: Record<string, unknown>): Record<string, unknown> {
  return {
    id: "a",
    status: "ok",
    latency_ms: 100,
    ttft_ms: null,
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, cached_tokens: null, reasoning_tokens: null },
    cost_usd: 0.001,
    inputs: {
      model: "gpt-4o-mini",
      temperature: 0.2,
      messages: [
        { role: "system", content: "Summarize." },
        { role: "user", content: "A long text" },
      ],
    },
    output: { id: "x", choices: [{ index: 0, message: { role: "assistant", content: "Short." }, finish_reason: "stop" }] },
    ...over,
  };
}

const field = (fields: CompareField[], path: string) => {
  const f = fields.find((x) => x.path === path);
  if (!f) throw new Error(`no field ${path}: ${fields.map((x) => x.path).join(", ")}`);
  return f;
};

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

describe("compareRecords", () => {
  it("marks every field the same for identical calls", () => {
    const fields = compareRecords([rec({}), rec({ id: "b" })]);
    expect(fields.length).toBeGreaterThan(5);
    expect(fields.every((f) => f.same)).toBe(true);
  });

  it("splits sections: metrics, parameters, inputs (the conversation), output", () => {
    const fields = compareRecords([rec({}), rec({})]);
    expect(field(fields, "latency_ms").section).toBe("metrics");
    expect(field(fields, "usage.total_tokens").section).toBe("metrics");
    expect(field(fields, "inputs.temperature").section).toBe("parameters");
    expect(field(fields, "inputs.model").section).toBe("parameters");
    expect(field(fields, "inputs.messages[1].content").section).toBe("inputs");
    expect(field(fields, "output.choices[0].message.content").section).toBe("output");
    // metrics every record has, null or not, as the server lists them
    expect(field(fields, "ttft_ms")).toMatchObject({ values: [null, null], same: true });
    expect(field(fields, "op_version").section).toBe("metrics");
    expect(field(fields, "status").same).toBe(true);
    expect(bySection(fields).map(([s]) => s)).toEqual(["metrics", "parameters", "inputs", "output"]);
  });

  it("finds differences in nested message content and output", () => {
    const b = rec({
      latency_ms: 180,
      inputs: {
        model: "gpt-4o-mini",
        temperature: 0.7,
        messages: [
          { role: "system", content: "Summarize in one line." },
          { role: "user", content: "A long text" },
        ],
      },
      output: { id: "y", choices: [{ index: 0, message: { role: "assistant", content: "Shorter." }, finish_reason: "stop" }] },
    });
    const fields = compareRecords([rec({}), b]);
    expect(field(fields, "latency_ms")).toMatchObject({ values: [100, 180], same: false });
    expect(field(fields, "inputs.temperature")).toMatchObject({ values: [0.2, 0.7], same: false });
    expect(field(fields, "inputs.messages[0].content")).toMatchObject({ same: false, values: ["Summarize.", "Summarize in one line."] });
    expect(field(fields, "inputs.messages[1].content").same).toBe(true);
    expect(field(fields, "output.choices[0].message.content")).toMatchObject({ same: false, values: ["Short.", "Shorter."] });
    // shown with the answer before the other output fields
    const output = (bySection(fields).find(([s]) => s === "output")?.[1] ?? []).map((f) => f.path);
    expect(output.indexOf("output.choices[0].message.content")).toBeLessThan(output.indexOf("output.id"));
  });

  it("gives null for fields a call does not have (an extra message, a missing parameter)", () => {
    const a = rec({});
    const b = rec({
      inputs: {
        model: "gpt-4o-mini",
        messages: [
          { role: "system", content: "Summarize." },
          { role: "user", content: "A long text" },
          { role: "user", content: "And again" },
        ],
      },
    });
    const fields = compareRecords([a, b]);
    expect(field(fields, "inputs.temperature")).toMatchObject({ values: [0.2, null], same: false });
    expect(field(fields, "inputs.messages[2].content")).toMatchObject({ values: [null, "And again"], same: false });
    const inputs = fields.filter((f) => f.section === "inputs").map((f) => f.path);
    expect(inputs.indexOf("inputs.messages[2].role")).toBe(inputs.indexOf("inputs.messages[1].content") + 1);
  });

  it("treats op inputs without a conversation as inputs, and compares 3 calls against each other", () => {
    const op = (text: string, out: string) => rec({ inputs: { text }, output: out, usage: null, cost_usd: null });
    const fields = compareRecords([op("doc", "one"), op("doc", "two"), op("doc", "one")]);
    expect(field(fields, "inputs.text")).toMatchObject({ section: "inputs", same: true, values: ["doc", "doc", "doc"] });
    expect(field(fields, "output")).toMatchObject({ same: false, values: ["one", "two", "one"] });
    expect(fields.some((f) => f.section === "parameters")).toBe(false);
  });

  it("handles records without inputs or output", () => {
    const fields = compareRecords([rec({ inputs: null, output: null }), rec({ output: null })]);
    expect(field(fields, "output")).toMatchObject({ values: [null, null], same: true });
    expect(fields.some((f) => f.section === "inputs" && !f.same)).toBe(true);
  });

  it("keeps long scalar lists (embeddings) as one leaf", () => {
    const vec = (x: number) => Array.from({ length: 64 }, (_, i) => i * x);
    const fields = compareRecords([rec({ output: { data: [{ embedding: vec(1) }] } }), rec({ output: { data: [{ embedding: vec(2) }] } })]);
    expect(field(fields, "output.data[0].embedding").same).toBe(false);
    expect(fields.filter((f) => f.section === "output")).toHaveLength(1);
  });

  it("splits an LLM request by kind: tools are what the model is told", () => {
    const r = rec({ kind: "llm", inputs: { model: "m", tools: [{ type: "function" }], messages: [] } });
    const fields = compareRecords([r, r]);
    expect(field(fields, "inputs.tools[0].type").section).toBe("inputs");
    expect(field(fields, "inputs.model").section).toBe("parameters");
    const op = rec({ kind: "op", inputs: { messages: "an op argument", style: "x" } });
    expect(field(compareRecords([op, op]), "inputs.style").section).toBe("inputs");
  });
});

describe("sameValue and parseIds", () => {
  it("compares leaves deeply", () => {
    expect(sameValue({ a: [1] }, { a: [1] })).toBe(true);
    expect(sameValue({ a: [1] }, { a: [2] })).toBe(false);
    expect(sameValue(null, 0)).toBe(false);
    expect(sameValue("1", 1)).toBe(false);
  });
  it("parses 2-4 distinct ids", () => {
    expect(parseIds("a, b,a")).toEqual({ ids: ["a", "b"], problem: null });
    expect(parseIds("a").problem).toMatch(/at least two/);
    expect(parseIds(null).ids).toEqual([]);
    expect(parseIds("a,b,c,d,e")).toMatchObject({ ids: ["a", "b", "c", "d"] });
  });
});
