/**
 * Picking versions to show and diff (ops and models): numbers from the page URL, checked
 * against the versions there are, and the structured difference of two attribute sets.
 */
import { isObj } from "../chat";
import { flatten, mergeOrder, sameValue } from "../json";

export interface Numbered {
  version: number;
}

/** The version numbered `raw` if there is one, else `fallback`'s. */
export function pickVersion<T extends Numbered>(versions: readonly T[], raw: string | null, fallback: T | undefined): T | undefined {
  const n = raw === null ? NaN : Number(raw);
  return versions.find((v) => v.version === n) ?? fallback;
}

/** Which two versions to diff: the URL's `from`/`to`; by default the latest and the one
 * before it (or, for `to` alone, the version before `to`). */
export function diffPair<T extends Numbered>(
  versions: readonly T[],
  from: string | null,
  to: string | null,
): { from: T; to: T } | null {
  if (versions.length < 2) return null;
  const sorted = [...versions].sort((a, b) => a.version - b.version);
  const b = pickVersion(sorted, to, sorted[sorted.length - 1]) as T;
  const at = sorted.indexOf(b);
  const a = pickVersion(sorted, from, sorted[at - 1] ?? sorted[at + 1]) as T;
  return { from: a, to: b };
}

export type AttrChange = "added" | "removed" | "changed" | "same";

export interface AttrRow {
  path: string;
  before: unknown;
  after: unknown;
  change: AttrChange;
}

/** No attributes (null, `{}`) has no leaves, so everything the other side has is added. */
function leaves(v: unknown): [string, unknown][] {
  if (v === null || v === undefined || (isObj(v) && Object.keys(v).length === 0)) return [];
  return flatten(v, "");
}

/** Leaf-by-leaf difference of two attribute values (objects, usually). */
export function attributeDiff(before: unknown, after: unknown): AttrRow[] {
  const a = leaves(before);
  const b = leaves(after);
  const ma = new Map(a);
  const mb = new Map(b);
  return mergeOrder([a.map(([p]) => p), b.map(([p]) => p)]).map((path): AttrRow => {
    const inA = ma.has(path);
    const inB = mb.has(path);
    const va = inA ? ma.get(path) : undefined;
    const vb = inB ? mb.get(path) : undefined;
    const change: AttrChange = !inA ? "added" : !inB ? "removed" : sameValue(va, vb) ? "same" : "changed";
    return { path: path || "(value)", before: va, after: vb, change };
  });
}

/** A model version's method sources (`{method: source}`), whatever the JSON holds. */
export function methodSources(source: unknown): Record<string, string> {
  if (typeof source === "string") return source ? { source } : {};
  if (typeof source !== "object" || source === null || Array.isArray(source)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) out[k] = typeof v === "string" ? v : JSON.stringify(v, null, 2);
  return out;
}

/** First 8 characters of a digest, for display. */
export function shortDigest(digest: string): string {
  return digest.slice(0, 8);
}
