import { describe, expect, it } from "vitest";
import { bySection, isAnswerPath, parseIds, SECTIONS, type CompareField } from "./fields";

const f = (section: CompareField["section"], path: string, same = true): CompareField => ({ section, path, values: [1, same ? 1 : 2], same });

describe("bySection", () => {
  it("groups the server's fields in section order, leaving out empty sections", () => {
    const fields = [f("output", "output.id"), f("metrics", "latency_ms", false), f("inputs", "inputs.messages[0].content")];
    expect(bySection(fields).map(([s, list]) => [s, list.map((x) => x.path)])).toEqual([
      ["metrics", ["latency_ms"]],
      ["inputs", ["inputs.messages[0].content"]],
      ["output", ["output.id"]],
    ]);
    expect(SECTIONS).toEqual(["metrics", "parameters", "inputs", "output"]);
  });

  it("puts the answer before the rest of the output", () => {
    const fields = [f("output", "output.id"), f("output", "output.created"), f("output", "output.choices[0].message.content", false)];
    const output = bySection(fields)[0]?.[1].map((x) => x.path);
    expect(output).toEqual(["output.choices[0].message.content", "output.id", "output.created"]);
    expect(isAnswerPath("output.output_text")).toBe(true);
    expect(isAnswerPath("output.usage.total_tokens")).toBe(false);
  });
});

describe("parseIds", () => {
  it("parses 2-4 distinct ids", () => {
    expect(parseIds("a, b,a")).toEqual({ ids: ["a", "b"], problem: null });
    expect(parseIds("a").problem).toMatch(/at least two/);
    expect(parseIds(null).ids).toEqual([]);
    expect(parseIds("a,b,c,d,e")).toMatchObject({ ids: ["a", "b", "c", "d"] });
  });
});
