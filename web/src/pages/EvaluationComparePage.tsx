/**
 * `/evaluations/compare?runs=a,b[,c,d]&baseline=a`: what changed between runs. Per metric the
 * value of each run, its delta to the baseline with the paired 95% interval (bold when the
 * interval excludes zero) and the flips; a chart per metric; then the rows side by side,
 * filtered to flips or regressions for one metric. Warns when the runs were scored on
 * different dataset or scorer versions (their numbers are then not like for like).
 * With fewer than two runs, a picker of recent runs.
 */
import { useMemo, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { Bar, BarChart, CartesianGrid, Cell, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api } from "../api/client";
import type { ComparedMetric, EvalRun, EvalRunRow } from "../api/types";
import { ErrorBox, Loading } from "../components/Status";
import { ChartCard, PALETTE } from "../components/analytics/Charts";
import {
  type EvalMetricKind,
  deltaTone,
  fmtMetricDelta,
  fmtMetricValue,
  fmtScore,
  isRegression,
  isSignificant,
  lineUp,
  rowChange,
  trialValue,
} from "../lib/evaluations";
import { useApi } from "../lib/useApi";
import { evalCompareHref, runHref } from "./EvaluationsPage";
import "../components/analytics/analytics.css";
import "../components/evaluations/evaluations.css";

const MAX_RUNS = 4;
const ROW_PAGE = 1000;
const ROWS_SHOWN = 300;
const STAT = /\.(true_fraction|mean)$/;

type RowFilter = "all" | "flips" | "regressions";

function parseRuns(params: URLSearchParams): string[] {
  const ids = (params.get("runs") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  return [...new Set(ids)].slice(0, MAX_RUNS);
}

function metricPath(metric: string): string[] {
  return metric.replace(STAT, "").split(".");
}

/** Every row of a run (pages of 1,000), for the side-by-side view. */
async function allRows(id: string, signal: AbortSignal): Promise<EvalRunRow[]> {
  const out: EvalRunRow[] = [];
  for (let offset = 0; ; offset += ROW_PAGE) {
    const page = await api.evalRunRows(id, new URLSearchParams({ offset: String(offset), limit: String(ROW_PAGE) }), signal);
    out.push(...page.rows);
    if (page.rows.length < ROW_PAGE || out.length >= page.total) return out;
  }
}

function runLabel(run: EvalRun | undefined, id: string): string {
  return run ? `${run.model.name} · ${id.slice(0, 8)}` : id.slice(0, 8);
}

function Picker({ initial }: { initial: string[] }) {
  const navigate = useNavigate();
  const [picked, setPicked] = useState(initial);
  const runs = useApi((signal) => api.evalRuns(new URLSearchParams({ limit: "50" }), signal), []);
  return (
    <section className="an-card" data-testid="eval-compare-picker">
      <h2>Pick 2–4 runs</h2>
      {runs.error && <ErrorBox error={runs.error} />}
      {runs.data?.runs.map((r) => (
        <label key={r.id} className="an-check">
          <input
            type="checkbox"
            checked={picked.includes(r.id)}
            disabled={!picked.includes(r.id) && picked.length >= MAX_RUNS}
            onChange={() => setPicked((p) => (p.includes(r.id) ? p.filter((x) => x !== r.id) : [...p, r.id]))}
          />
          {r.evaluation.name} · {r.model.name} · <span className="an-mono">{r.id.slice(0, 12)}</span>
        </label>
      ))}
      <div>
        <button type="button" className="btn btn-primary" disabled={picked.length < 2} onClick={() => navigate(evalCompareHref(picked, picked[0]))}>
          Compare
        </button>
      </div>
    </section>
  );
}

function DeltaBadge({ metric, run }: { metric: ComparedMetric; run: string }) {
  const delta = metric.deltas[run] ?? null;
  const paired = metric.paired[run];
  const kind = metric.kind as EvalMetricKind;
  const tone = deltaTone(delta, metric.metric);
  const significant = paired ? isSignificant(paired.ci_low, paired.ci_high) : false;
  return (
    <span data-testid="metric-delta" data-run={run} data-tone={tone} data-significant={significant}>
      <span className={`ev-delta ev-delta-${tone}`} style={significant ? undefined : { fontWeight: 400 }}>
        {fmtMetricDelta(delta, kind)}
      </span>
      {paired && paired.ci_low !== null && paired.ci_high !== null && (
        <span className="ev-ci" title={`paired over ${paired.n} rows, bootstrap 95% interval`}>
          {" "}
          [{fmtMetricDelta(paired.ci_low, kind)}, {fmtMetricDelta(paired.ci_high, kind)}]
        </span>
      )}
    </span>
  );
}

function MetricsTable({
  metrics,
  runs,
  baseline,
  byId,
}: {
  metrics: ComparedMetric[];
  runs: string[];
  baseline: string;
  byId: Map<string, EvalRun>;
}) {
  return (
    <table className="an-table" data-testid="compare-metrics">
      <thead>
        <tr>
          <th>metric</th>
          {runs.map((id) => (
            <th key={id} className="an-num">
              {runLabel(byId.get(id), id)} {id === baseline && <span className="an-tag an-tag-base">baseline</span>}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {metrics.map((m) => (
          <tr key={m.metric} data-testid="compare-metric" data-metric={m.metric}>
            <td className="an-mono">{m.metric}</td>
            {runs.map((id) => (
              <td key={id} className="an-num">
                <div data-testid="metric-value" data-run={id}>
                  {fmtMetricValue(m.values[id] ?? null, m.kind as EvalMetricKind)}
                </div>
                {id !== baseline && <DeltaBadge metric={m} run={id} />}
                {id !== baseline && m.flips?.[id] && (
                  <div className="ev-ci" data-testid="metric-flips" data-run={id}>
                    <span className="ev-change-pass_to_fail">{m.flips[id].pass_to_fail} pass→fail</span> ·{" "}
                    <span className="ev-change-fail_to_pass">{m.flips[id].fail_to_pass} fail→pass</span>
                  </div>
                )}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function MetricCharts({ metrics, runs, byId }: { metrics: ComparedMetric[]; runs: string[]; byId: Map<string, EvalRun> }) {
  return (
    <div className="ev-charts">
      {metrics.map((m) => {
        const data = runs.map((id, i) => ({ run: `${i + 1}. ${byId.get(id)?.model.name ?? id.slice(0, 8)}`.slice(0, 18), value: m.values[id] ?? 0 }));
        const kind = m.kind as EvalMetricKind;
        return (
          <ChartCard key={m.metric} title={m.metric} testId="compare-chart">
            <ResponsiveContainer width="100%" height={200}>
              <BarChart data={data} margin={{ top: 8, right: 8, bottom: 4, left: 0 }}>
                <CartesianGrid strokeDasharray="3 3" vertical={false} />
                <XAxis dataKey="run" tick={{ fontSize: 11 }} interval={0} />
                <YAxis tick={{ fontSize: 11 }} tickFormatter={(v: number) => fmtMetricValue(v, kind)} width={56} />
                <Tooltip formatter={(v) => fmtMetricValue(Number(v), kind)} />
                <Bar dataKey="value" isAnimationActive={false}>
                  {data.map((_, i) => (
                    <Cell key={i} fill={PALETTE[i % PALETTE.length]} />
                  ))}
                </Bar>
              </BarChart>
            </ResponsiveContainer>
          </ChartCard>
        );
      })}
    </div>
  );
}

function SideBySide({ metrics, runs, baseline, byId }: { metrics: ComparedMetric[]; runs: string[]; baseline: string; byId: Map<string, EvalRun> }) {
  const scored = metrics.filter((m) => m.metric !== "latency_ms.mean");
  const [metricName, setMetricName] = useState(scored[0]?.metric ?? "");
  const [filter, setFilter] = useState<RowFilter>("all");
  const rows = useApi((signal) => Promise.all(runs.map((id) => allRows(id, signal))), [runs.join(",")]);
  const metric = scored.find((m) => m.metric === metricName) ?? scored[0];
  const lined = useMemo(() => (rows.data ? lineUp(rows.data) : []), [rows.data]);
  const baseIndex = runs.indexOf(baseline);
  const changes = useMemo(() => {
    if (!metric) return lined.map(() => runs.map(() => "same" as const));
    const path = metricPath(metric.metric);
    const kind = metric.kind as EvalMetricKind;
    return lined.map((line) => {
      const base = trialValue(line.perRun[baseIndex] ?? [], path, kind);
      return line.perRun.map((trials, i) => (i === baseIndex ? "same" : rowChange(base, trialValue(trials, path, kind), kind, metric.metric)));
    });
  }, [lined, metric, baseIndex]);
  const shown = lined
    .map((line, i) => ({ line, change: changes[i] ?? [] }))
    .filter(({ change }) =>
      filter === "all" ? true : filter === "flips" ? change.some((c) => c === "pass_to_fail" || c === "fail_to_pass") : change.some(isRegression),
    );
  return (
    <section className="an-card" data-testid="compare-rows">
      <div className="an-card-head">
        <h2>Rows side by side</h2>
        {scored.length > 0 && (
          <label>
            metric{" "}
            <select value={metric?.metric} onChange={(e) => setMetricName(e.target.value)} data-testid="rows-metric">
              {scored.map((m) => (
                <option key={m.metric} value={m.metric}>
                  {m.metric}
                </option>
              ))}
            </select>
          </label>
        )}
        {(["all", "flips", "regressions"] as const).map((f) => (
          <label key={f} className="an-check">
            <input type="radio" name="row-filter" checked={filter === f} onChange={() => setFilter(f)} data-testid={`rows-filter-${f}`} />
            {f}
          </label>
        ))}
        <span className="muted" data-testid="rows-count">
          {rows.data ? `${shown.length} of ${lined.length} rows` : ""}
        </span>
      </div>
      {rows.error && <ErrorBox error={rows.error} />}
      {rows.loading && <Loading what="Loading rows" />}
      {rows.data && shown.length > 0 && (
        <div className="an-scroll">
          <table className="an-table ev-rows">
            <thead>
              <tr>
                <th className="an-num">#</th>
                {runs.map((id) => (
                  <th key={id}>
                    <Link to={runHref(id)}>{runLabel(byId.get(id), id)}</Link>
                    {id === baseline && <span className="an-tag an-tag-base">baseline</span>}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {shown.slice(0, ROWS_SHOWN).map(({ line, change }) => (
                <tr key={line.rowIndex} data-testid="compare-row" data-row={line.rowIndex}>
                  <td className="an-num">{line.rowIndex}</td>
                  {line.perRun.map((trials, i) => {
                    const first = trials[0];
                    const c = change[i] ?? "same";
                    return (
                      <td key={runs[i]} data-testid="compare-cell" data-change={c}>
                        {first === undefined ? (
                          <span className="muted">not run</span>
                        ) : first.model_error ? (
                          <span className="ev-error">{String(first.model_error.message ?? "model error")}</span>
                        ) : (
                          <div className="ev-cell">{typeof first.output === "string" ? first.output : JSON.stringify(first.output)}</div>
                        )}
                        {first !== undefined && metric && (
                          <div className={`ev-ci ev-change-${c}`}>
                            {fmtScore(first.scores[metricPath(metric.metric)[0] ?? ""])}
                            {c !== "same" && c !== "missing" && ` · ${c.replace(/_/g, " ")}`}
                          </div>
                        )}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
          {shown.length > ROWS_SHOWN && <p className="muted an-pad">First {ROWS_SHOWN} of {shown.length} rows shown.</p>}
        </div>
      )}
      {rows.data && shown.length === 0 && <p className="muted an-pad">No rows {filter === "all" ? "" : `with ${filter}`}.</p>}
    </section>
  );
}

export default function EvaluationComparePage() {
  const [params, setParams] = useSearchParams();
  const runs = parseRuns(params);
  const baseline = runs.includes(params.get("baseline") ?? "") ? (params.get("baseline") as string) : (runs[0] ?? "");
  const ready = runs.length >= 2;
  const comparison = useApi(
    (signal) => (ready ? api.evalCompare(runs, baseline, signal) : Promise.resolve(undefined)),
    [runs.join(","), baseline],
  );
  const details = useApi((signal) => Promise.all(runs.map((id) => api.evalRun(id, signal))), [runs.join(",")]);
  const byId = useMemo(() => new Map((details.data ?? []).map((r) => [r.id, r])), [details.data]);
  const setBaseline = (id: string) => {
    const next = new URLSearchParams(params);
    next.set("baseline", id);
    setParams(next);
  };

  return (
    <div className="page an-page" data-testid="evaluation-compare-page">
      <div className="an-crumbs">
        <Link to="/evaluations">Evaluations</Link>
      </div>
      <div className="an-page-head">
        <h1>Compare runs</h1>
        {ready && (
          <label>
            baseline{" "}
            <select value={baseline} onChange={(e) => setBaseline(e.target.value)} data-testid="baseline-picker">
              {runs.map((id) => (
                <option key={id} value={id}>
                  {runLabel(byId.get(id), id)}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      {!ready && <Picker initial={runs} />}
      {comparison.error && <ErrorBox error={comparison.error} />}
      {ready && comparison.loading && !comparison.data && <Loading />}
      {comparison.data && (
        <>
          {comparison.data.warnings.map((w) => (
            <div key={w} className="ev-warning" role="alert" data-testid="compare-warning">
              {w}
            </div>
          ))}
          <section className="an-card">
            <MetricsTable metrics={comparison.data.metrics} runs={runs} baseline={comparison.data.baseline} byId={byId} />
            <p className="muted an-note">
              Deltas are to the baseline; brackets are the {Math.round(comparison.data.bootstrap.confidence * 100)}% interval of the
              paired per-row difference ({comparison.data.bootstrap.resamples.toLocaleString()} bootstrap resamples). A badge in
              bold has an interval that excludes zero.
            </p>
          </section>
          <MetricCharts metrics={comparison.data.metrics} runs={runs} byId={byId} />
          <SideBySide metrics={comparison.data.metrics} runs={runs} baseline={comparison.data.baseline} byId={byId} />
        </>
      )}
    </div>
  );
}
