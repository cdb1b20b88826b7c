/**
 * The structured comparison of 2–4 call records: every leaf of their metrics, request
 * parameters, conversation and output, as `{section, path, values, same}` rows, the shape
 * `GET /api/compare` answers. Computed here from `GET /api/calls/{id}` records when the
 * server has no compare endpoint, so the page works either way.
 *
 * The same split and paths as the server's (`wiretrace_proxy/compare.py`).
 * Bounded: each value contributes at most `MAX_LEAVES` leaves and `MAX_DEPTH` levels; past
 * that, the remaining subtree is one leaf, compared by its (bounded) JSON text.
 */
import { isObj } from "../chat";
import { boundedJson } from "../truncate";

export type Section = "metrics" | "parameters" | "inputs" | "output";
export const SECTIONS: readonly Section[] = ["metrics", "parameters", "inputs", "output"];

export interface CompareField {
  section: Section;
  /** `inputs.messages[0].content`, `usage.total_tokens`, `output.choices[0].message.content` */
  path: string;
  /** One per call, in the calls' order; `null` where a call has no such field. */
  values: unknown[];
  same: boolean;
}

export const MAX_LEAVES = 2_000;
export const MAX_DEPTH = 24;

/** Metric paths of a record, in display order (as `wiretrace_proxy/compare.py` lists them). */
export const METRIC_PATHS = [
  "op_name",
  "display_name",
  "op_version",
  "status",
  "http_status",
  "model",
  "response_model",
  "prompt_digest",
  "latency_ms",
  "ttft_ms",
  "usage.prompt_tokens",
  "usage.completion_tokens",
  "usage.total_tokens",
  "usage.cached_tokens",
  "usage.reasoning_tokens",
  "usage_source",
  "cost_usd",
  "error",
] as const;

/** Metrics shown even when every call agrees; the other identical metrics fold away. */
export const CORE_METRICS: ReadonlySet<string> = new Set([
  "status",
  "latency_ms",
  "ttft_ms",
  "usage.prompt_tokens",
  "usage.completion_tokens",
  "usage.total_tokens",
  "cost_usd",
]);

/** Request keys that hold what the model is told (the `inputs` section); the other keys
 * of an LLM request are its parameters. */
const CONVERSATION_KEYS = new Set(["messages", "input", "instructions", "prompt", "tools", "functions", "system", "suffix"]);

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

/** Leaf paths per call merged into one order: a path new in a later call goes right after
 * the path that precedes it there, so `messages[2]` of the second call sits by `messages[1]`. */
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

function get(record: unknown, path: string): unknown {
  let v: unknown = record;
  for (const key of path.split(".")) {
    if (!isObj(v)) return null;
    v = v[key];
  }
  return v === undefined ? null : v;
}

function fieldsOf(section: Section, perCall: [string, unknown][][]): CompareField[] {
  const maps = perCall.map((leaves) => new Map(leaves));
  return mergeOrder(perCall.map((leaves) => leaves.map(([p]) => p))).map((path) => {
    const values = maps.map((m) => (m.has(path) ? m.get(path) : null));
    const first = values[0];
    return { section, path, values, same: values.every((v) => sameValue(v, first)) };
  });
}

/** The request split into its parameters (model, temperature, ...) and what the model is
 * told; an op's inputs (its own arguments) are all input. */
function splitInputs(record: unknown): { params: Record<string, unknown>; convo: unknown } {
  const inputs = isObj(record) ? record.inputs : null;
  const kind = isObj(record) ? record.kind : undefined;
  if (!isObj(inputs)) return { params: {}, convo: inputs ?? null };
  const keys = Object.keys(inputs);
  const llm = kind === "llm" || (kind === undefined && keys.some((k) => CONVERSATION_KEYS.has(k)));
  if (!llm) return { params: {}, convo: inputs };
  const params: Record<string, unknown> = {};
  const convo: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(inputs)) (CONVERSATION_KEYS.has(k) ? convo : params)[k] = v;
  return { params, convo };
}

/** Whether an output path is the answer itself (chat `choices`, Responses `output`). */
export function isAnswerPath(path: string): boolean {
  return /^output\.(choices|output|output_text|text)\b/.test(path);
}

/** The structured comparison of `records` (any JSON objects shaped like call records). */
export function compareRecords(records: readonly unknown[]): CompareField[] {
  const metrics: CompareField[] = METRIC_PATHS.map((path) => {
    const values = records.map((r) => get(r, path));
    return { section: "metrics" as const, path, values, same: values.every((v) => sameValue(v, values[0])) };
  });
  const split = records.map(splitInputs);
  const params = fieldsOf(
    "parameters",
    split.map((s) => (Object.keys(s.params).length ? flatten(s.params, "inputs") : [])),
  );
  const inputs = fieldsOf(
    "inputs",
    split.map((s) => (isObj(s.convo) && Object.keys(s.convo).length === 0 ? [] : flatten(s.convo, "inputs"))),
  );
  const output = fieldsOf(
    "output",
    records.map((r) => flatten(isObj(r) ? r.output : null, "output")),
  );
  return [...metrics, ...params, ...inputs, ...output];
}

/** Fields grouped by section, in section order (sections with no field left out); in the
 * output, the answer comes before the envelope (`id`, `created`, `usage`...). */
export function bySection(fields: readonly CompareField[]): [Section, CompareField[]][] {
  const known = new Set<string>(SECTIONS);
  const groups = new Map<Section, CompareField[]>();
  for (const f of fields) {
    const section: Section = known.has(f.section) ? f.section : "output";
    const list = groups.get(section) ?? [];
    list.push(f);
    groups.set(section, list);
  }
  const output = groups.get("output");
  if (output) groups.set("output", [...output.filter((f) => isAnswerPath(f.path)), ...output.filter((f) => !isAnswerPath(f.path))]);
  return SECTIONS.filter((s) => groups.has(s)).map((s) => [s, groups.get(s) ?? []]);
}

/** `ids=a,b,c` → 2–4 distinct ids, or a message saying what is wrong. */
export function parseIds(raw: string | null): { ids: string[]; problem: string | null } {
  const ids = [...new Set((raw ?? "").split(",").map((s) => s.trim()).filter(Boolean))];
  if (ids.length < 2) return { ids, problem: "Pick at least two calls to compare (ids=a,b)." };
  if (ids.length > 4) return { ids: ids.slice(0, 4), problem: "At most four calls can be compared; showing the first four." };
  return { ids, problem: null };
}
