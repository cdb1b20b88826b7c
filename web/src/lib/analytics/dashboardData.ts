/**
 * The dashboard's requests, few and bounded whatever the traffic: the range by time bucket
 * (totals, latency, errors), the top models, the top ops by cost, then one time series per
 * top model (at most `TOP_MODELS`); everything else is stacked as "other".
 */
import { api } from "../../api/client";
import type { Stats as StatsResult } from "../../api/types";
import { statsParams, topModels, type ModelSeries, type TimeRange } from "./dashboard";

export const TOP_MODELS = 5;
export const TOP_OPS = 10;
const MAX_BUCKETS = "10000";

export interface DashboardData {
  range: TimeRange;
  filters: Record<string, string>;
  series: StatsResult;
  models: StatsResult;
  ops: StatsResult;
  perModel: ModelSeries[];
}

/** When the oldest call matching `filters` started (null when there is none). */
export async function loadOldest(filters: Record<string, string>, signal: AbortSignal): Promise<string | null> {
  const page = await api.calls(new URLSearchParams({ ...filters, sort: "started_at", limit: "1" }), signal);
  return page.calls[0]?.started_at ?? null;
}

export async function loadDashboard(
  range: TimeRange,
  filters: Record<string, string>,
  signal: AbortSignal,
): Promise<DashboardData> {
  const [series, models, ops] = await Promise.all([
    api.stats(statsParams(range, range.bucket, { ...filters, sort: "key", limit: MAX_BUCKETS }), signal),
    api.stats(statsParams(range, "model", { ...filters, sort: "calls", limit: String(TOP_MODELS + 1) }), signal),
    api.stats(statsParams(range, "op_name", { ...filters, sort: "cost_usd", limit: String(TOP_OPS) }), signal),
  ]);
  const top = series.totals.calls > 0 ? topModels(models, TOP_MODELS) : [];
  const perModel = await Promise.all(
    top.map(async (model): Promise<ModelSeries> => {
      const params = statsParams(range, range.bucket, { ...filters, model, sort: "key", limit: MAX_BUCKETS });
      const stats = await api.stats(params, signal);
      return { model, groups: stats.groups };
    }),
  );
  return { range, filters, series, models, ops, perModel };
}
