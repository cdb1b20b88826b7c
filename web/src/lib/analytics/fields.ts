/**
 * The structured comparison of 2–4 calls as `GET /api/compare` answers it: every metric,
 * request parameter, conversation and output leaf as `{section, path, values, same}` rows
 * (the server splits and flattens the records: `wiretrace_proxy/api/comparison.py`). This
 * module only orders them for display.
 */
import type { CompareField, CompareMetric, CompareSection } from "../../api/types";
import { COMPARE_SECTIONS } from "../../api/vocabulary";

export type { CompareField };
export type Section = CompareSection;
export const SECTIONS: readonly Section[] = COMPARE_SECTIONS;

/** Metrics shown even when every call agrees; the other identical metrics fold away. */
export const CORE_METRICS: ReadonlySet<string> = new Set<CompareMetric>([
  "status",
  "latency_ms",
  "ttft_ms",
  "usage.prompt_tokens",
  "usage.completion_tokens",
  "usage.total_tokens",
  "cost_usd",
]);

/** Whether an output path is the answer itself (chat `choices`, Responses `output`). */
export function isAnswerPath(path: string): boolean {
  return /^output\.(choices|output|output_text|text)\b/.test(path);
}

/** Fields grouped by section, in section order (sections with no field left out); in the
 * output, the answer comes before the envelope (`id`, `created`, `usage`...). */
export function bySection(fields: readonly CompareField[]): [Section, CompareField[]][] {
  const groups = new Map<Section, CompareField[]>();
  for (const f of fields) {
    const list = groups.get(f.section) ?? [];
    list.push(f);
    groups.set(f.section, list);
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
