/**
 * `/evaluations/:runId`: one run. Its summary (each metric with n and errors, so failed rows
 * are never hidden in an average), counts, wire usage, cost and latency, then its rows page
 * by page: inputs, target, output and each score, failed rows marked (optionally alone), and
 * each row's trace one click away.
 */
import { useMemo } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { api } from "../api/client";
import type { EvalRun, EvalRunRow, Json } from "../api/types";
import { ErrorBox, Loading } from "../components/Status";
import { RunStatusBadge } from "../components/evaluations/RunStatus";
import { fmtMetricValue, fmtScore, isFailedRow, isObject, scorerNames, summaryMetrics } from "../lib/evaluations";
import { fmtCost, fmtInt, fmtMs, fmtTime } from "../lib/format";
import { useApi } from "../lib/useApi";
import { evalCompareHref } from "./EvaluationsPage";
import "../components/analytics/analytics.css";
import "../components/evaluations/evaluations.css";

const PAGE = 100;
const TARGET_COLUMNS = ["target", "reference_output", "reference", "expected", "answer"];
const CELL_CHARS = 400;

function plural(n: number, what: string): string {
  return `${fmtInt(n)} ${what}${n === 1 ? "" : "s"}`;
}

function short(value: Json | undefined): string {
  if (value === undefined) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > CELL_CHARS ? `${text.slice(0, CELL_CHARS)}…` : text;
}

function targetColumn(rows: readonly EvalRunRow[]): string | null {
  for (const name of TARGET_COLUMNS) {
    if (rows.some((r) => isObject(r.inputs) && name in r.inputs)) {
      return name;
    }
  }
  return null;
}

function withoutColumn(inputs: Json, column: string | null): Json {
  if (column === null || !isObject(inputs)) return inputs;
  const { [column]: _dropped, ...rest } = inputs;
  return rest;
}

function columnOf(inputs: Json, column: string): Json | undefined {
  return isObject(inputs) ? inputs[column] : undefined;
}

function SummaryCards({ run }: { run: EvalRun }) {
  const metrics = summaryMetrics(run.summary);
  return (
    <div className="ev-cards" data-testid="run-summary">
      {metrics.map((m) => (
        <div key={m.name} className="ev-card" data-testid="summary-metric" data-metric={m.name}>
          <span className="ev-card-label">{m.name}</span>
          <span className="ev-card-value">{fmtMetricValue(m.value, m.kind)}</span>
          <span className="ev-card-note">
            n {fmtInt(m.n)}
            {m.nErrors ? <span className="ev-bad"> · {fmtInt(m.nErrors)} failed</span> : null}
            {m.stderr !== null ? ` · ±${m.stderr.toPrecision(2)}` : ""}
          </span>
        </div>
      ))}
      <div className="ev-card" data-testid="run-counts">
        <span className="ev-card-label">rows</span>
        <span className="ev-card-value">
          {fmtInt(run.n_done)}/{fmtInt(run.n_rows)}
        </span>
        <span className="ev-card-note">
          {fmtInt(run.n_ok)} ok
          {run.n_model_errors > 0 && <span className="ev-bad"> · {plural(run.n_model_errors, "model error")}</span>}
          {run.n_scorer_errors > 0 && <span className="ev-bad"> · {plural(run.n_scorer_errors, "scorer error")}</span>}
        </span>
      </div>
      <div className="ev-card" data-testid="run-cost">
        <span className="ev-card-label">cost (from the wire)</span>
        <span className="ev-card-value">{fmtCost(run.cost_usd)}</span>
        <span className="ev-card-note">{fmtInt(run.usage.total_tokens)} tokens</span>
      </div>
      <div className="ev-card" data-testid="run-latency">
        <span className="ev-card-label">model latency</span>
        <span className="ev-card-value">{fmtMs(run.latency_ms.p50)}</span>
        <span className="ev-card-note">
          p95 {fmtMs(run.latency_ms.p95)} · mean {fmtMs(run.latency_ms.mean)}
        </span>
      </div>
    </div>
  );
}

function RowsTable({ rows, target }: { rows: readonly EvalRunRow[]; target: string | null }) {
  const scorers = scorerNames(rows);
  const trials = rows.some((r) => r.trial > 0);
  return (
    <table className="an-table ev-rows" data-testid="run-rows">
      <thead>
        <tr>
          <th className="an-num">#</th>
          {trials && <th className="an-num">trial</th>}
          <th>inputs</th>
          {target && <th>{target}</th>}
          <th>output</th>
          {scorers.map((s) => (
            <th key={s}>{s}</th>
          ))}
          <th className="an-num">latency</th>
          <th className="an-num">cost</th>
          <th>trace</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => {
          const failed = isFailedRow(r);
          return (
            <tr
              key={`${r.row_index}:${r.trial}`}
              className={failed ? "ev-row-failed" : ""}
              data-testid="run-row-item"
              data-row={r.row_index}
              data-failed={failed}
            >
              <td className="an-num">{r.row_index}</td>
              {trials && <td className="an-num">{r.trial}</td>}
              <td>
                <div className="ev-cell an-mono">{short(withoutColumn(r.inputs, target))}</div>
              </td>
              {target && (
                <td>
                  <div className="ev-cell">{short(columnOf(r.inputs, target))}</div>
                </td>
              )}
              <td>
                {r.model_error ? (
                  <div className="ev-error" data-testid="row-model-error">
                    {String(r.model_error.type ?? "error")}: {String(r.model_error.message ?? "")}
                  </div>
                ) : (
                  <div className="ev-cell" data-testid="row-output">
                    {short(r.output)}
                  </div>
                )}
              </td>
              {scorers.map((s) => (
                <td key={s} data-testid="row-score" data-scorer={s}>
                  {r.scorer_errors[s] ? <span className="ev-error">error: {r.scorer_errors[s]}</span> : fmtScore(r.scores[s])}
                </td>
              ))}
              <td className="an-num">{fmtMs(r.latency_ms)}</td>
              <td className="an-num">{fmtCost(r.cost_usd)}</td>
              <td>
                {r.trace_id ? (
                  <Link to={`/traces/${encodeURIComponent(r.trace_id)}`} data-testid="row-trace">
                    trace
                  </Link>
                ) : (
                  <span className="muted">–</span>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export default function EvaluationRunPage() {
  const { runId = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const offset = Math.max(0, Number(params.get("offset") ?? 0) || 0);
  const failedOnly = params.get("failed") === "true";
  const run = useApi((signal) => api.evalRun(runId, signal), [runId]);
  const rowQuery = useMemo(() => {
    const q = new URLSearchParams({ offset: String(offset), limit: String(PAGE) });
    if (failedOnly) q.set("failed", "true");
    return q;
  }, [offset, failedOnly]);
  const rows = useApi((signal) => api.evalRunRows(runId, rowQuery, signal), [runId, rowQuery.toString()]);
  const go = (next: { offset?: number; failed?: boolean }) => {
    const q = new URLSearchParams(params);
    q.set("offset", String(next.offset ?? 0));
    if (next.failed ?? failedOnly) q.set("failed", "true");
    else q.delete("failed");
    setParams(q);
  };
  const target = rows.data ? targetColumn(rows.data.rows) : null;

  return (
    <div className="page an-page" data-testid="evaluation-run-page">
      <div className="an-crumbs">
        <Link to="/evaluations">Evaluations</Link>
      </div>
      {run.error && <ErrorBox error={run.error} />}
      {run.loading && !run.data && <Loading />}
      {run.data && (
        <>
          <div className="an-page-head">
            <h1>{run.data.evaluation.name}</h1>
            <RunStatusBadge status={run.data.status} />
            <span className="muted an-mono">{run.data.id}</span>
            <span className="an-spacer" />
            <Link to={`/evaluations?evaluation=${encodeURIComponent(run.data.evaluation.name)}`}>other runs of this evaluation</Link>
          </div>
          <p className="muted an-note" data-testid="run-meta">
            model <b>{run.data.model.name}</b> <span className="an-mono">{run.data.model.version.slice(0, 12)}</span> · dataset{" "}
            <Link to={`/datasets/${encodeURIComponent(run.data.dataset.name)}`}>{run.data.dataset.name}</Link>{" "}
            <span className="an-mono">{run.data.dataset.version.slice(0, 12)}</span> · scorers{" "}
            {run.data.scorers.map((s) => s.name).join(", ") || "none"} · {run.data.trials} trial
            {run.data.trials === 1 ? "" : "s"} · started {fmtTime(run.data.started_at)}
            {run.data.ended_at ? ` · ended ${fmtTime(run.data.ended_at)}` : ""}
          </p>
          {run.data.status === "interrupted" && (
            <div className="ev-warning" data-testid="run-interrupted">
              This run stopped reporting before it finished. Resume it with{" "}
              <code>evaluation.evaluate(model, resume="{run.data.id}")</code>: only its missing and failed rows run again.
            </div>
          )}
          <SummaryCards run={run.data} />
        </>
      )}
      <section className="an-card">
        <div className="an-card-head">
          <h2>Rows</h2>
          <label className="an-check">
            <input type="checkbox" checked={failedOnly} onChange={(e) => go({ failed: e.target.checked })} data-testid="failed-only" />
            failed rows only
          </label>
          <span className="an-spacer" />
          {rows.data && (
            <span className="ev-pager">
              <span className="muted">
                {rows.data.total === 0 ? 0 : offset + 1}–{Math.min(offset + PAGE, rows.data.total)} of {fmtInt(rows.data.total)}
              </span>
              <button type="button" className="btn btn-small" disabled={offset === 0} onClick={() => go({ offset: Math.max(0, offset - PAGE) })}>
                previous
              </button>
              <button
                type="button"
                className="btn btn-small"
                disabled={offset + PAGE >= rows.data.total}
                onClick={() => go({ offset: offset + PAGE })}
                data-testid="rows-next"
              >
                next
              </button>
            </span>
          )}
          {run.data && (
            <Link to={evalCompareHref([run.data.id])} className="btn btn-small">
              compare with…
            </Link>
          )}
        </div>
        {rows.error && <ErrorBox error={rows.error} />}
        {rows.loading && !rows.data && <Loading />}
        {rows.data && rows.data.rows.length === 0 && <p className="muted an-pad">No rows{failedOnly ? " failed" : " yet"}.</p>}
        {rows.data && rows.data.rows.length > 0 && (
          <div className={rows.loading ? "an-stale" : ""}>
            <RowsTable rows={rows.data.rows} target={target} />
          </div>
        )}
      </section>
    </div>
  );
}
