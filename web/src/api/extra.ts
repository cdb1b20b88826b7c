/**
 * Shapes of endpoints not (yet) in the committed OpenAPI snapshot: /api/stats and
 * /api/compare. Replaced by generated aliases once `make web-types` picks them up.
 */
export interface Percentiles {
  p50: number | null;
  p95?: number | null;
  p99?: number | null;
}

export interface StatsGroup {
  key: unknown;
  calls: number;
  errors: number;
  error_rate: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cached_tokens?: number;
  reasoning_tokens?: number;
  cost_usd: number | null;
  calls_without_cost?: number;
  latency_ms: Percentiles;
  ttft_ms: Percentiles;
}

export interface StatsResult {
  group_by: string;
  groups: StatsGroup[];
  totals: Omit<StatsGroup, "key">;
  group_count: number;
  percentiles: "exact" | "approximate";
}

export interface CompareField {
  section: "metrics" | "parameters" | "inputs" | "output";
  /** e.g. `inputs.messages[0].content`, `usage.total_tokens` */
  path: string;
  /** One per call, in `ids` order; null where a call has no such field. */
  values: unknown[];
  same: boolean;
}

/** `GET /api/compare?ids=a,b[,c,d]` (server: `wiretrace_proxy/api/compare.py`). */
export interface CompareResult {
  calls: unknown[];
  fields: CompareField[];
  differing_sections: string[];
  differing_fields: number;
  truncated: boolean;
}
