/**
 * JSON values as leaves: `flatten` turns a value into `[path, leaf]` pairs (the attribute
 * tables and version diffs show them as rows), `mergeOrder` merges the leaf paths of several
 * values into one order, `sameValue` compares two leaves.
 *
 * Bounded: each value contributes at most `MAX_LEAVES` leaves and `MAX_DEPTH` levels; past
 * that, the remaining subtree is one leaf, compared by its (bounded) JSON text.
 */
import { isObj } from "./chat";
import { boundedJson } from "./truncate";

export const MAX_LEAVES = 2_000;
export const MAX_DEPTH = 24;

/** A list of more than this many scalars (an embedding, logprobs) is one leaf. */
export const LEAF_LIST = 32;

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `a.b`, or `a["odd key"]` for keys that are not identifiers. */
export function childPath(prefix: string, key: string): string {
  if (IDENT.test(key)) return prefix ? `${prefix}.${key}` : key;
  return `${prefix}[${JSON.stringify(key)}]`;
}

/**
 * Leaves of a JSON value as `[path, value]` pairs, in document order. Empty objects and
 * arrays are leaves (so `{}` and a missing field differ); so is any subtree past the
 * depth or leaf budget.
 */
export function flatten(value: unknown, prefix: string, maxLeaves = MAX_LEAVES): [string, unknown][] {
  const out: [string, unknown][] = [];
  const walk = (v: unknown, path: string, depth: number): void => {
    const scalarRun = Array.isArray(v) && v.length > LEAF_LIST && !v.some((x) => typeof x === "object" && x !== null);
    const container = (Array.isArray(v) && !scalarRun) || isObj(v);
    const empty = Array.isArray(v) ? v.length === 0 : isObj(v) ? Object.keys(v).length === 0 : true;
    if (!container || empty || depth >= MAX_DEPTH || out.length >= maxLeaves - 1) {
      out.push([path, v === undefined ? null : v]);
      return;
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        if (out.length >= maxLeaves - 1) {
          out.push([`${path}[${i}:]`, v.slice(i)]);
          return;
        }
        walk(v[i], `${path}[${i}]`, depth + 1);
      }
      return;
    }
    const entries = Object.entries(v as Record<string, unknown>);
    for (let i = 0; i < entries.length; i++) {
      const [key, item] = entries[i] as [string, unknown];
      if (out.length >= maxLeaves - 1) {
        out.push([`${path}{…}`, Object.fromEntries(entries.slice(i))]);
        return;
      }
      walk(item, childPath(path, key), depth + 1);
    }
  };
  walk(value, prefix, 0);
  return out;
}

/** Whether two leaf values are equal (deeply, for the rare subtree leaves). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") {
    return typeof a === "number" && typeof b === "number" && Number.isNaN(a) && Number.isNaN(b);
  }
  return boundedJson(a, 200_000).text === boundedJson(b, 200_000).text;
}

/** Leaf paths per value merged into one order: a path new in a later list goes right after
 * the path that precedes it there, so `messages[2]` of the second list sits by `messages[1]`. */
export function mergeOrder(lists: string[][]): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  for (const list of lists) {
    let at = -1; // index in `order` of the previous path of this list
    for (const path of list) {
      if (seen.has(path)) {
        at = order.indexOf(path);
        continue;
      }
      seen.add(path);
      order.splice(at + 1, 0, path);
      at += 1;
    }
  }
  return order;
}
