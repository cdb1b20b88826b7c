/**
 * `/evaluations`: evaluation runs, newest first, with their metrics, counts, cost and latency;
 * filters by evaluation, dataset, model and status (in the address, so a view can be shared);
 * pick 2–4 runs to compare them.
 */
import { useMemo, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { api } from "../api/client";
import type { EvalRun } from "../api/types";
import { ErrorBox, Loading } from "../components/Status";
import { RunStatusBadge } from "../components/evaluations/RunStatus";
import { fmtMetricValue, summaryMetrics } from "../lib/evaluations";
import { fmtCost, fmtInt, fmtMs, fmtTime } from "../lib/format";
import { useApi } from "../lib/useApi";
import "../components/analytics/analytics.css";
import "../components/evaluations/evaluations.css";

const enc = encodeURIComponent;
const FILTERS = ["evaluation", "dataset", "model", "status"] as const;
const STATUSES = ["running", "finished", "failed", "interrupted"];
const MAX_COMPARE = 4;
const SHOWN_METRICS = 3;

export function runHref(id: string): string {
  return `/evaluations/${enc(id)}`;
}

export function evalCompareHref(ids: readonly string[], baseline?: string): string {
  const params = new URLSearchParams({ runs: ids.join(",") });
  if (baseline) params.set("baseline", baseline);
  return `/evaluations/compare?${params.toString()}`;
}

function Metrics({ run }: { run: EvalRun }) {
  const metrics = summaryMetrics(run.summary);
  if (metrics.length === 0) return <span className="muted">–</span>;
  return (
    <span className="ev-metrics">
      {metrics.slice(0, SHOWN_METRICS).map((m) => (
        <span key={m.name} className="ev-metric" data-testid="run-metric" data-metric={m.name}>
          <span className="muted">{m.name.replace(/\.(true_fraction|mean)$/, "")}</span> {fmtMetricValue(m.value, m.kind)}
        </span>
      ))}
      {metrics.length > SHOWN_METRICS && <span className="muted">+{metrics.length - SHOWN_METRICS}</span>}
    </span>
  );
}

function FilterInputs({ params, set }: { params: URLSearchParams; set: (name: string, value: string) => void }) {
  return (
    <div className="ev-filters" data-testid="eval-filters">
      {FILTERS.map((name) =>
        name === "status" ? (
          <label key={name}>
            status{" "}
            <select value={params.get(name) ?? ""} onChange={(e) => set(name, e.target.value)} data-testid="filter-status">
              <option value="">any</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
        ) : (
          <label key={name}>
            {name}{" "}
            <input
              className="ev-filter-input"
              defaultValue={params.get(name) ?? ""}
              placeholder="any"
              data-testid={`filter-${name}`}
              onKeyDown={(e) => {
                if (e.key === "Enter") set(name, e.currentTarget.value.trim());
              }}
              onBlur={(e) => set(name, e.currentTarget.value.trim())}
            />
          </label>
        ),
      )}
    </div>
  );
}

export default function EvaluationsPage() {
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const [picked, setPicked] = useState<string[]>([]);
  const query = useMemo(() => {
    const q = new URLSearchParams();
    for (const name of FILTERS) {
      const value = params.get(name);
      if (value) q.set(name, value);
    }
    q.set("limit", "200");
    return q;
  }, [params.toString()]);
  const runs = useApi((signal) => api.evalRuns(query, signal), [query.toString()]);
  const set = (name: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    if (next.toString() !== params.toString()) setParams(next);
  };
  const toggle = (id: string) =>
    setPicked((now) => (now.includes(id) ? now.filter((p) => p !== id) : now.length < MAX_COMPARE ? [...now, id] : now));

  return (
    <div className="page an-page" data-testid="evaluations-page">
      <div className="an-page-head">
        <h1>Evaluations</h1>
        <span className="an-spacer" />
        <Link to="/datasets">Datasets</Link>
        <button
          type="button"
          className="btn btn-primary"
          disabled={picked.length < 2}
          data-testid="compare-runs"
          onClick={() => navigate(evalCompareHref(picked, picked[0]))}
        >
          Compare {picked.length >= 2 ? picked.length : ""} runs
        </button>
      </div>
      <FilterInputs params={params} set={set} />
      {runs.error && <ErrorBox error={runs.error} />}
      {runs.loading && !runs.data && <Loading />}
      {runs.data && runs.data.runs.length === 0 && (
        <div className="an-empty" data-testid="evaluations-empty">
          <h2>No evaluation runs{query.size > 1 ? " match these filters" : " yet"}</h2>
          <p className="muted">
            Run <code>wiretrace.Evaluation(...).evaluate(model)</code> from the Python SDK, or report one from any
            language with <code>POST /api/evaluations/runs</code>.
          </p>
        </div>
      )}
      {runs.data && runs.data.runs.length > 0 && (
        <section className="an-card">
          <p className="muted an-note">
            {fmtInt(runs.data.total)} runs{runs.data.total > runs.data.runs.length ? `, newest ${runs.data.runs.length} shown` : ""}.
            Tick 2–4 to compare them; the first ticked is the baseline.
          </p>
          <table className="an-table" data-testid="runs-table">
            <thead>
              <tr>
                <th />
                <th>run</th>
                <th>evaluation</th>
                <th>model</th>
                <th>dataset</th>
                <th>status</th>
                <th className="an-num">rows</th>
                <th className="an-num">errors</th>
                <th>metrics</th>
                <th className="an-num">cost</th>
                <th className="an-num">latency p50</th>
                <th>started</th>
              </tr>
            </thead>
            <tbody>
              {runs.data.runs.map((run) => (
                <tr key={run.id} data-testid="run-row" data-run={run.id} className={picked.includes(run.id) ? "an-selected" : ""}>
                  <td>
                    <input
                      type="checkbox"
                      checked={picked.includes(run.id)}
                      onChange={() => toggle(run.id)}
                      aria-label={`compare run ${run.id}`}
                      data-testid="run-pick"
                    />
                  </td>
                  <td>
                    <Link to={runHref(run.id)} className="an-mono" data-testid="run-link">
                      {run.id.slice(0, 12)}
                    </Link>
                  </td>
                  <td>{run.evaluation.name}</td>
                  <td>
                    {run.model.name} <span className="muted an-mono">{run.model.version.slice(0, 8)}</span>
                  </td>
                  <td>
                    <Link to={`/datasets/${enc(run.dataset.name)}`}>{run.dataset.name}</Link>
                  </td>
                  <td>
                    <RunStatusBadge status={run.status} />
                  </td>
                  <td className="an-num">
                    {fmtInt(run.n_done)}/{fmtInt(run.n_rows)}
                  </td>
                  <td className="an-num" data-testid="run-errors">
                    {run.n_model_errors + run.n_scorer_errors > 0 ? (
                      <span className="ev-bad">{fmtInt(run.n_model_errors + run.n_scorer_errors)}</span>
                    ) : (
                      "0"
                    )}
                  </td>
                  <td>
                    <Metrics run={run} />
                  </td>
                  <td className="an-num">{fmtCost(run.cost_usd)}</td>
                  <td className="an-num">{fmtMs(run.latency_ms.p50)}</td>
                  <td>{fmtTime(run.started_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </div>
  );
}
