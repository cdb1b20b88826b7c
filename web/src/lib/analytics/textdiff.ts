/**
 * Text differences for display, with the `diff` package: a word diff for prose that
 * differs, a line diff for long or multi-line text, and unified hunks (with line numbers)
 * for source code and templates. Every diff is bounded in time: past the budget it gives
 * up and reports the two texts as replaced wholesale, never freezing the page.
 */
import { diffLines, diffWords, diffWordsWithSpace, structuredPatch, type Change } from "diff";
import { boundedJson } from "../truncate";

export type SegmentKind = "same" | "added" | "removed";

export interface Segment {
  kind: SegmentKind;
  text: string;
}

/** Above this many characters (both sides together), diff by lines only. */
export const WORD_DIFF_LIMIT = 20_000;
/** Above this, no diff is attempted at all. */
export const DIFF_LIMIT = 2_000_000;
const TIMEOUT_MS = 300;

function toSegments(changes: Change[]): Segment[] {
  const out: Segment[] = [];
  for (const c of changes) {
    if (!c.value) continue;
    const kind: SegmentKind = c.added ? "added" : c.removed ? "removed" : "same";
    const last = out[out.length - 1];
    if (last && last.kind === kind) last.text += c.value;
    else out.push({ kind, text: c.value });
  }
  return out;
}

function replaced(a: string, b: string): Segment[] {
  const out: Segment[] = [];
  if (a) out.push({ kind: "removed", text: a });
  if (b) out.push({ kind: "added", text: b });
  return out;
}

export interface TextDiff {
  segments: Segment[];
  mode: "words" | "lines" | "whole";
}

/** How `b` differs from `a`: segments that read as `b` exactly (same + added) and as `a`
 * (same + removed) up to whitespace in a word diff. */
export function diffText(a: string, b: string): TextDiff {
  if (a === b) return { segments: a ? [{ kind: "same", text: a }] : [], mode: "words" };
  const size = a.length + b.length;
  if (size > DIFF_LIMIT) return { segments: replaced(a, b), mode: "whole" };
  if (size <= WORD_DIFF_LIMIT) {
    // Words ignoring whitespace read best ("[-short-][+much longer+]"); when only the
    // whitespace differs, whitespace runs are tokens too so the change still shows.
    const words = diffWords(a, b, { timeout: TIMEOUT_MS });
    if (words && words.some((c) => c.added || c.removed)) return { segments: toSegments(words), mode: "words" };
    const spaced = diffWordsWithSpace(a, b, { timeout: TIMEOUT_MS });
    if (spaced) return { segments: toSegments(spaced), mode: "words" };
  }
  const lines = diffLines(a, b, { timeout: TIMEOUT_MS });
  if (lines) return { segments: toSegments(lines), mode: "lines" };
  return { segments: replaced(a, b), mode: "whole" };
}

/** Counts of added and removed characters, for a summary. */
export function diffStats(segments: readonly Segment[]): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const s of segments) {
    if (s.kind === "added") added += s.text.length;
    else if (s.kind === "removed") removed += s.text.length;
  }
  return { added, removed };
}

export interface DiffLine {
  kind: "context" | "added" | "removed" | "note";
  text: string;
  /** 1-based line numbers in the old and the new text (null where the line is not there). */
  oldNo: number | null;
  newNo: number | null;
}

export interface Hunk {
  header: string;
  lines: DiffLine[];
}

export interface UnifiedDiff {
  hunks: Hunk[];
  added: number;
  removed: number;
  /** The texts were too large or too different to diff within the time budget. */
  gaveUp: boolean;
}

/** A unified diff of two texts (`context` lines around each change), as hunks of lines. */
export function unifiedDiff(oldText: string, newText: string, context = 3): UnifiedDiff {
  if (oldText === newText) return { hunks: [], added: 0, removed: 0, gaveUp: false };
  const patch =
    oldText.length + newText.length > DIFF_LIMIT
      ? undefined
      : structuredPatch("a", "b", oldText, newText, undefined, undefined, { context, timeout: 2_000 });
  if (!patch) {
    return { hunks: [], added: countLines(newText), removed: countLines(oldText), gaveUp: true };
  }
  let added = 0;
  let removed = 0;
  const hunks = patch.hunks.map((h): Hunk => {
    let oldNo = h.oldStart;
    let newNo = h.newStart;
    const lines: DiffLine[] = [];
    for (const raw of h.lines) {
      const mark = raw[0];
      const text = raw.slice(1);
      if (mark === "+") {
        added += 1;
        lines.push({ kind: "added", text, oldNo: null, newNo: newNo++ });
      } else if (mark === "-") {
        removed += 1;
        lines.push({ kind: "removed", text, oldNo: oldNo++, newNo: null });
      } else if (mark === "\\") {
        lines.push({ kind: "note", text: raw.slice(2), oldNo: null, newNo: null });
      } else {
        lines.push({ kind: "context", text, oldNo: oldNo++, newNo: newNo++ });
      }
    }
    const header = `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`;
    return { header, lines };
  });
  return { hunks, added, removed, gaveUp: false };
}

function countLines(text: string): number {
  if (!text) return 0;
  let n = 1;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) n += 1;
  return text.endsWith("\n") ? n - 1 : n;
}

/** A value as comparable text: strings as they are, anything else as pretty JSON. */
export function asText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined) return "";
  return boundedJson(value, DIFF_LIMIT / 4).text;
}
