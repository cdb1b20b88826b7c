/**
 * `/datasets`: the datasets with their versions and sizes. `/datasets/:name`: its versions
 * (each a content digest; where it came from, e.g. recorded calls and their filters) and the
 * rows of one version (`?version=`, the latest by default), page by page.
 */
import { Link, useParams, useSearchParams } from "react-router";
import { api } from "../api/client";
import type { Json } from "../api/types";
import { ErrorBox, Loading } from "../components/Status";
import { isObject } from "../lib/evaluations";
import { fmtInt, fmtTime } from "../lib/format";
import { useApi } from "../lib/useApi";
import "../components/analytics/analytics.css";
import "../components/evaluations/evaluations.css";

const enc = encodeURIComponent;
const PAGE = 50;
const CELL_CHARS = 300;

function short(value: Json | undefined): string {
  if (value === undefined) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > CELL_CHARS ? `${text.slice(0, CELL_CHARS)}…` : text;
}

function sourceText(source: Json): string {
  if (!isObject(source)) return "rows posted";
  if (source.kind === "calls") {
    const filters = source.filters;
    const shown = isObject(filters)
        ? Object.entries(filters)
            .map(([k, v]) => `${k}=${String(v)}`)
            .join(", ")
        : "";
    return `recorded calls${shown ? ` (${shown})` : ""}`;
  }
  return typeof source.kind === "string" ? source.kind : "rows posted";
}

function DatasetList() {
  const datasets = useApi((signal) => api.datasets(signal), []);
  return (
    <div className="page an-page" data-testid="datasets-page">
      <div className="an-page-head">
        <h1>Datasets</h1>
        <span className="an-spacer" />
        <Link to="/evaluations">Evaluations</Link>
      </div>
      {datasets.error && <ErrorBox error={datasets.error} />}
      {datasets.loading && !datasets.data && <Loading />}
      {datasets.data && datasets.data.datasets.length === 0 && (
        <div className="an-empty" data-testid="datasets-empty">
          <h2>No datasets yet</h2>
          <p className="muted">
            Make one from recorded calls (the traces table: <i>Make a dataset</i>), with <code>wiretrace.Dataset</code> in the
            SDK, or with <code>POST /api/datasets</code>.
          </p>
        </div>
      )}
      {datasets.data && datasets.data.datasets.length > 0 && (
        <section className="an-card">
          <table className="an-table" data-testid="datasets-table">
            <thead>
              <tr>
                <th>dataset</th>
                <th>project</th>
                <th className="an-num">rows (latest)</th>
                <th className="an-num">versions</th>
                <th>updated</th>
              </tr>
            </thead>
            <tbody>
              {datasets.data.datasets.map((d) => (
                <tr key={`${d.project}/${d.name}`} data-testid="dataset-row" data-dataset={d.name}>
                  <td>
                    <Link to={`/datasets/${enc(d.name)}`}>{d.name}</Link>
                  </td>
                  <td>{d.project}</td>
                  <td className="an-num">{fmtInt(d.row_count)}</td>
                  <td className="an-num">{fmtInt(d.versions)}</td>
                  <td>{fmtTime(d.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </div>
  );
}

function DatasetDetail({ name }: { name: string }) {
  const [params, setParams] = useSearchParams();
  const detail = useApi((signal) => api.dataset(name, signal), [name]);
  const version = params.get("version") ?? "";
  const offset = Math.max(0, Number(params.get("offset") ?? 0) || 0);
  const rows = useApi((signal) => {
    const q = new URLSearchParams({ offset: String(offset), limit: String(PAGE) });
    if (version) q.set("version", version);
    return api.datasetRows(name, q, signal);
  }, [name, version, offset]);
  const go = (next: Record<string, string>) => setParams(new URLSearchParams({ ...Object.fromEntries(params), ...next }));
  const columns = rows.data ? [...new Set(rows.data.rows.flatMap((r) => Object.keys(r.values)))] : [];
  return (
    <div className="page an-page" data-testid="dataset-page">
      <div className="an-crumbs">
        <Link to="/datasets">Datasets</Link>
      </div>
      <div className="an-page-head">
        <h1>{name}</h1>
        <span className="an-spacer" />
        <Link to={`/evaluations?dataset=${enc(name)}`}>runs on this dataset</Link>
      </div>
      {detail.error && <ErrorBox error={detail.error} />}
      {detail.data && (
        <section className="an-card">
          <h2>Versions</h2>
          <table className="an-table" data-testid="dataset-versions">
            <thead>
              <tr>
                <th>version</th>
                <th className="an-num">rows</th>
                <th>source</th>
                <th>created</th>
              </tr>
            </thead>
            <tbody>
              {detail.data.versions.map((v) => (
                <tr key={v.version} className={(version || rows.data?.version) === v.version ? "an-selected" : ""}>
                  <td>
                    <button type="button" className="btn-link an-mono" onClick={() => go({ version: v.version, offset: "0" })}>
                      {v.version}
                    </button>
                  </td>
                  <td className="an-num">{fmtInt(v.row_count)}</td>
                  <td data-testid="dataset-source">{sourceText(v.source)}</td>
                  <td>{fmtTime(v.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      <section className="an-card">
        <div className="an-card-head">
          <h2>Rows</h2>
          <span className="an-spacer" />
          {rows.data && (
            <span className="ev-pager">
              <span className="muted" data-testid="dataset-rows-count">
                {rows.data.total === 0 ? 0 : offset + 1}–{Math.min(offset + PAGE, rows.data.total)} of {fmtInt(rows.data.total)}
              </span>
              <button type="button" className="btn btn-small" disabled={offset === 0} onClick={() => go({ offset: String(Math.max(0, offset - PAGE)) })}>
                previous
              </button>
              <button type="button" className="btn btn-small" disabled={offset + PAGE >= rows.data.total} onClick={() => go({ offset: String(offset + PAGE) })}>
                next
              </button>
            </span>
          )}
        </div>
        {rows.error && <ErrorBox error={rows.error} />}
        {rows.loading && !rows.data && <Loading />}
        {rows.data && rows.data.rows.length > 0 && (
          <div className="an-scroll">
            <table className="an-table ev-rows" data-testid="dataset-rows">
              <thead>
                <tr>
                  <th className="an-num">#</th>
                  {columns.map((c) => (
                    <th key={c}>{c}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.data.rows.map((r) => (
                  <tr key={r.index} data-testid="dataset-row-item">
                    <td className="an-num">{r.index}</td>
                    {columns.map((c) => (
                      <td key={c}>
                        {c === "source_call_id" && typeof r.values[c] === "string" ? (
                          <Link to={`/calls/${enc(r.values[c] as string)}`} className="an-mono">
                            {r.values[c] as string}
                          </Link>
                        ) : (
                          <div className="ev-cell an-mono">{short(r.values[c])}</div>
                        )}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
}

export default function DatasetsPage() {
  const { name } = useParams();
  return name ? <DatasetDetail name={name} /> : <DatasetList />;
}
