/**
 * `/dashboard?range=24h` (or `range=custom&since=..&until=..`): totals for the range (the
 * cards show `/api/stats` totals digit for digit), calls, tokens and cost over time stacked
 * by the top models, latency percentiles, error rate and the top ops by cost.
 */
import { useMemo, useState, type ReactNode } from "react";
import { Link, useSearchParams } from "react-router";
import { ErrorBox, Loading } from "../components/Status";
import { ChartCard, ErrorRateBars, LatencyLines, OpCostBars, StackedBars } from "../components/analytics/Charts";
import { RangePicker } from "../components/analytics/RangePicker";
import {
  bucketKeys,
  dashboardFilters,
  fitRange,
  KIND_CHOICES,
  opBars,
  resolveRange,
  withRange,
  stackedRows,
  timeRows,
  type TimeRange,
} from "../lib/analytics/dashboard";
import { loadDashboard, loadOldest, type DashboardData } from "../lib/analytics/dashboardData";
import { fmtCostExact, fmtIntExact, fmtRate } from "../lib/analytics/numbers";
import { fmtMs, fmtTime } from "../lib/format";
import { useApi } from "../lib/useApi";
import "../components/analytics/analytics.css";

function Card({
  label,
  value,
  raw,
  testId,
  sub,
}: {
  label: string;
  value: string;
  raw: number | null;
  testId: string;
  sub?: ReactNode;
}) {
  return (
    <div className="an-stat">
      <div className="an-stat-label">{label}</div>
      <div className="an-stat-value" data-testid={testId} data-value={raw === null ? "" : String(raw)}>
        {value}
      </div>
      {sub && <div className="an-stat-sub muted">{sub}</div>}
    </div>
  );
}

function Totals({ data }: { data: DashboardData }) {
  const t = data.series.totals;
  return (
    <div
      className="an-stats"
      data-testid="dashboard-totals"
      data-since={data.range.since}
      data-until={data.range.until}
      data-filters={new URLSearchParams(data.filters).toString()}
    >
      <Card label="Calls" value={fmtIntExact(t.calls)} raw={t.calls} testId="dashboard-total-calls" />
      <Card
        label="Tokens"
        value={fmtIntExact(t.total_tokens)}
        raw={t.total_tokens}
        testId="dashboard-total-tokens"
        sub={
          <>
            <span data-testid="dashboard-prompt-tokens">{fmtIntExact(t.prompt_tokens)}</span> prompt ·{" "}
            <span data-testid="dashboard-completion-tokens">{fmtIntExact(t.completion_tokens)}</span> completion
          </>
        }
      />
      <Card
        label="Cost"
        value={fmtCostExact(t.cost_usd)}
        raw={t.cost_usd}
        testId="dashboard-total-cost"
        sub={t.calls_without_cost ? `${fmtIntExact(t.calls_without_cost)} calls without a price` : "every call priced"}
      />
      <Card
        label="Error rate"
        value={fmtRate(t.error_rate)}
        raw={t.error_rate}
        testId="dashboard-error-rate"
        sub={
          <>
            <span data-testid="dashboard-total-errors">{fmtIntExact(t.errors)}</span> {t.errors === 1 ? "error" : "errors"}
          </>
        }
      />
      <Card
        label="Latency p50"
        value={fmtMs(t.latency_ms.p50)}
        raw={t.latency_ms.p50}
        testId="dashboard-latency-p50"
        sub={`p95 ${fmtMs(t.latency_ms.p95)} · p99 ${fmtMs(t.latency_ms.p99)}${data.series.percentiles === "approximate" ? " (approx.)" : ""}`}
      />
    </div>
  );
}

function Charts({ data }: { data: DashboardData }) {
  const { range } = data;
  const keys = useMemo(() => bucketKeys(range.since, range.until, range.bucket), [range]);
  const groups = data.series.groups;
  const calls = useMemo(() => stackedRows(keys, range.bucket, groups, data.perModel, "calls"), [keys, range.bucket, groups, data.perModel]);
  const tokens = useMemo(() => stackedRows(keys, range.bucket, groups, data.perModel, "total_tokens"), [keys, range.bucket, groups, data.perModel]);
  const cost = useMemo(() => stackedRows(keys, range.bucket, groups, data.perModel, "cost_usd"), [keys, range.bucket, groups, data.perModel]);
  const times = useMemo(() => timeRows(keys, range.bucket, groups), [keys, range.bucket, groups]);
  const ops = opBars(data.ops);
  const per = range.bucket === "hour" ? "per hour (UTC buckets)" : "per day (UTC)";
  const more = data.models.group_count > data.perModel.length ? `top ${data.perModel.length} models, the rest as other` : "by model";
  return (
    <div className="an-charts">
      <ChartCard title="Calls" testId="chart-calls" note={`${more} · ${per}`}>
        <StackedBars rows={calls.rows} series={calls.series} format="int" />
      </ChartCard>
      <ChartCard title="Tokens" testId="chart-tokens" note={`${more} · ${per}`}>
        <StackedBars rows={tokens.rows} series={tokens.series} format="int" />
      </ChartCard>
      <ChartCard title="Cost" testId="chart-cost" note={`${more} · ${per}`}>
        <StackedBars rows={cost.rows} series={cost.series} format="usd" />
      </ChartCard>
      <ChartCard title="Latency" testId="chart-latency" note={`p50 / p95 / p99 ${per}`}>
        <LatencyLines rows={times} />
      </ChartCard>
      <ChartCard title="Error rate" testId="chart-errors" note={per}>
        <ErrorRateBars rows={times} />
      </ChartCard>
      <ChartCard title="Top ops by cost" testId="chart-top-ops" note={`top ${ops.length}`}>
        {ops.length > 0 ? (
          <OpCostBars bars={ops} />
        ) : (
          <p className="muted an-pad" data-testid="top-ops-empty">
            No priced calls in this range.
          </p>
        )}
      </ChartCard>
    </div>
  );
}

function without(page: URLSearchParams, name: string): string {
  const next = new URLSearchParams(page);
  next.delete(name);
  return next.toString();
}

function RangeLine({ range, fitted }: { range: TimeRange; fitted: boolean }) {
  return (
    <p
      className="muted an-range-line"
      data-testid="dashboard-range"
      data-since={range.since}
      data-until={range.until}
      data-bucket={range.bucket}
      data-choice={range.choice}
      data-fitted={fitted}
    >
      {fmtTime(range.since)} → {fmtTime(range.until)}
      {fitted && " (fits your calls)"}
    </p>
  );
}

export default function DashboardPage() {
  const [search, setSearch] = useSearchParams();
  const [now, setNow] = useState(() => Date.now());
  const filters = useMemo(() => dashboardFilters(search), [search]);
  const filterKey = new URLSearchParams(filters).toString();
  // Without a range in the URL, open on one that fits the calls (found first).
  const named = search.get("range") !== null;
  const oldest = useApi((signal) => (named ? Promise.resolve(null) : loadOldest(filters, signal)), [named, filterKey]);
  const fitted = named || oldest.loading ? undefined : fitRange(oldest.data ?? null, now);
  const ready = named || !oldest.loading;
  const range = useMemo(() => resolveRange(search, now, fitted), [search, now, fitted]);
  const state = useApi(
    (signal) => (ready ? loadDashboard(range, filters, signal) : Promise.resolve(undefined)),
    [ready, range.since, range.until, range.bucket, filterKey],
  );
  const data = state.data;
  // Busy until the data on screen answers the current URL (a previous range's stays meanwhile).
  const current =
    data !== undefined &&
    data.range.since === range.since &&
    data.range.until === range.until &&
    new URLSearchParams(data.filters).toString() === filterKey;

  return (
    <div className="page an-page" data-testid="dashboard-page" aria-busy={state.loading || !current}>
      <div className="an-page-head">
        <h1>Dashboard</h1>
        <span className="an-spacer" />
        <RangePicker
          key={range.choice === "custom" ? `${range.since}|${range.until}` : range.choice}
          range={range}
          onChoose={(choice) => {
            setNow(Date.now());
            setSearch(withRange(search, { range: choice }));
          }}
          onCustom={(since, until) => setSearch(withRange(search, { range: "custom", since, until }))}
          onRefresh={() => setNow(Date.now())}
        />
      </div>
      <div className="an-page-head">
        <RangeLine range={range} fitted={fitted !== undefined} />
        <span className="an-spacer" />
        <div className="an-segmented" role="group" aria-label="which calls">
          {KIND_CHOICES.map(([kind, label]) => (
            <button
              key={kind || "all"}
              type="button"
              className={`an-seg ${(filters.kind ?? "") === kind ? "an-seg-on" : ""}`}
              aria-pressed={(filters.kind ?? "") === kind}
              data-testid={`kind-${kind || "all"}`}
              onClick={() => {
                const next = new URLSearchParams(search);
                if (kind) next.set("kind", kind);
                else next.delete("kind");
                setSearch(next);
              }}
            >
              {label}
            </button>
          ))}
        </div>
      </div>
      {filters.project && (
        <p className="muted an-note">
          project <code>{filters.project}</code> · <Link to={`/dashboard?${without(search, "project")}`}>all projects</Link>
        </p>
      )}
      {range.problem && <p className="muted an-note">{range.problem}</p>}
      {state.error && <ErrorBox error={state.error} />}
      {(state.loading || !ready) && !data && <Loading what="Loading stats" />}
      {data && data.series.totals.calls === 0 && (
        <div className="an-empty" data-testid="dashboard-empty">
          <h2>No calls in this range</h2>
          <p className="muted">
            Pick a longer range, or point an app at the proxy (<code>OPENAI_BASE_URL={window.location.origin}/v1</code>);
            its calls appear here. <Link to="/">Traces</Link>
          </p>
        </div>
      )}
      {data && data.series.totals.calls > 0 && (
        <div className={state.loading || !current ? "an-stale" : ""}>
          <Totals data={data} />
          <Charts data={data} />
        </div>
      )}
    </div>
  );
}
