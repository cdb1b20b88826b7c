import { describe, expect, it } from "vitest";
import { asText, diffStats, diffText, unifiedDiff, WORD_DIFF_LIMIT } from "./textdiff";

const rebuild = (segs: { kind: string; text: string }[], side: "a" | "b") =>
  segs.filter((s) => s.kind === "same" || s.kind === (side === "a" ? "removed" : "added")).map((s) => s.text).join("");

describe("diffText", () => {
  it("diffs prose word by word and both sides can be rebuilt", () => {
    const a = "Summarize the text in three bullet points.";
    const b = "Summarize the text in one short sentence.";
    const d = diffText(a, b);
    expect(d.mode).toBe("words");
    expect(rebuild(d.segments, "a")).toBe(a);
    expect(rebuild(d.segments, "b")).toBe(b);
    expect(d.segments.filter((s) => s.kind === "removed").map((s) => s.text).join("")).toContain("three");
    expect(d.segments.filter((s) => s.kind === "added").map((s) => s.text).join("")).toContain("one");
    expect(d.segments[0]).toEqual({ kind: "same", text: "Summarize the text in " });
    expect(diffText("A short summary.", "A much longer summary.").segments).toEqual([
      { kind: "same", text: "A " },
      { kind: "removed", text: "short" },
      { kind: "added", text: "much longer" },
      { kind: "same", text: " summary." },
    ]);
  });
  it("still shows a difference that is only whitespace", () => {
    const d = diffText("a b", "a  b");
    expect(rebuild(d.segments, "b")).toBe("a  b");
    expect(d.segments.some((s) => s.kind !== "same")).toBe(true);
  });
  it("returns one same segment for equal texts and nothing for two empty ones", () => {
    expect(diffText("x y", "x y").segments).toEqual([{ kind: "same", text: "x y" }]);
    expect(diffText("", "").segments).toEqual([]);
  });
  it("falls back to lines for long texts", () => {
    const line = "lorem ipsum dolor sit amet\n";
    const a = line.repeat(Math.ceil(WORD_DIFF_LIMIT / line.length));
    const b = `${a}one more line\n`;
    const d = diffText(a, b);
    expect(d.mode).toBe("lines");
    expect(d.segments.at(-1)).toEqual({ kind: "added", text: "one more line\n" });
    expect(diffStats(d.segments)).toEqual({ added: 14, removed: 0 });
  });
});

describe("unifiedDiff", () => {
  const v1 = ["def summarize(text):", '    prompt = "Summarize: " + text', "    return llm(prompt)", ""].join("\n");
  const v2 = ["def summarize(text, style):", '    prompt = f"Summarize in {style}: {text}"', "    return llm(prompt)", ""].join("\n");
  it("gives hunks with +/- lines and line numbers", () => {
    const d = unifiedDiff(v1, v2);
    expect(d.gaveUp).toBe(false);
    expect(d.added).toBe(2);
    expect(d.removed).toBe(2);
    expect(d.hunks).toHaveLength(1);
    const hunk = d.hunks[0]!;
    expect(hunk.header).toBe("@@ -1,3 +1,3 @@");
    expect(hunk.lines.filter((l) => l.kind === "removed").map((l) => l.text)).toEqual(["def summarize(text):", '    prompt = "Summarize: " + text']);
    expect(hunk.lines.filter((l) => l.kind === "added").map((l) => l.text)).toEqual(["def summarize(text, style):", '    prompt = f"Summarize in {style}: {text}"']);
    const context = hunk.lines.find((l) => l.kind === "context");
    expect(context).toEqual({ kind: "context", text: "    return llm(prompt)", oldNo: 3, newNo: 3 });
    expect(hunk.lines.find((l) => l.kind === "added")?.newNo).toBe(1);
  });
  it("has no hunks for equal texts", () => {
    expect(unifiedDiff(v1, v1)).toEqual({ hunks: [], added: 0, removed: 0, gaveUp: false });
  });
  it("separates distant changes into hunks", () => {
    const lines = Array.from({ length: 40 }, (_, i) => `line ${i}`);
    const changed = [...lines];
    changed[2] = "changed 2";
    changed[35] = "changed 35";
    const d = unifiedDiff(lines.join("\n"), changed.join("\n"));
    expect(d.hunks).toHaveLength(2);
    expect(d.hunks[1]!.lines.find((l) => l.kind === "removed")).toMatchObject({ text: "line 35", oldNo: 36 });
  });
  it("diffs from nothing (a new method)", () => {
    const d = unifiedDiff("", "a\nb\n");
    expect(d.added).toBe(2);
    expect(d.removed).toBe(0);
  });
});

describe("asText", () => {
  it("keeps strings and pretty-prints the rest", () => {
    expect(asText("x")).toBe("x");
    expect(asText(3)).toBe("3");
    expect(asText({ a: 1 })).toBe('{\n  "a": 1\n}');
    expect(asText(null)).toBe("null");
  });
});
