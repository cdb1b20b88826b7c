/**
 * `/models`: the SDK's `wiretrace.Model` classes with their version counts. `/models/:name`:
 * their versions (a version per distinct set of attribute values and method sources), each
 * with its attributes, and the difference of any two (`?from=1&to=2`): attributes leaf by
 * leaf, changed methods as line diffs.
 */
import { Link, useParams, useSearchParams } from "react-router";
import { api } from "../api/client";
import type { ModelVersion } from "../api/types";
import { ErrorBox, Loading } from "../components/Status";
import { AttributeDiff, AttributeTable } from "../components/analytics/Attributes";
import { UnifiedDiffView } from "../components/analytics/UnifiedDiffView";
import { VersionPicker } from "../components/analytics/VersionPicker";
import { diffPair, methodSources, pickVersion, shortDigest } from "../lib/analytics/versions";
import { fmtInt, fmtTime } from "../lib/format";
import { useApi } from "../lib/useApi";
import { TruncatedText } from "../components/Truncated";
import "../components/analytics/analytics.css";

const enc = encodeURIComponent;
const versionLabel = (v: ModelVersion) => `v${v.version} · ${shortDigest(v.digest)}`;

function ModelList() {
  const models = useApi((signal) => api.models(signal), []);
  return (
    <div className="page an-page" data-testid="models-page">
      <h1>Models</h1>
      <p className="muted">
        <code>wiretrace.Model</code> subclasses, versioned by their attribute values and method sources.
      </p>
      {models.error && <ErrorBox error={models.error} />}
      {models.loading && !models.data && <Loading />}
      {models.data && models.data.models.length === 0 && (
        <div className="an-empty" data-testid="models-empty">
          No models recorded yet. Subclass <code>wiretrace.Model</code> (Python SDK) and call its methods.
        </div>
      )}
      {models.data && models.data.models.length > 0 && (
        <section className="an-card">
          <table className="an-table" data-testid="models-table">
            <thead>
              <tr>
                <th>model</th>
                <th>project</th>
                <th className="an-num">versions</th>
              </tr>
            </thead>
            <tbody>
              {models.data.models.map((m) => (
                <tr key={`${m.project}/${m.name}`} data-testid="model-row" data-model={m.name}>
                  <td>
                    <Link to={`/models/${enc(m.name)}`} className="an-mono">
                      {m.name}
                    </Link>
                  </td>
                  <td>{m.project}</td>
                  <td className="an-num">{fmtInt(m.versions)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </div>
  );
}

function MethodDiffs({ from, to }: { from: ModelVersion; to: ModelVersion }) {
  const a = methodSources(from.source);
  const b = methodSources(to.source);
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const changed = names.filter((n) => a[n] !== b[n]);
  if (names.length === 0) return null;
  return (
    <div className="an-methods" data-testid="method-diffs">
      <h3>Methods</h3>
      {changed.length === 0 && <p className="muted an-pad">No method changed.</p>}
      {changed.map((n) => (
        <div key={n} className="an-method" data-testid="method-diff" data-method={n}>
          <h4 className="an-mono">
            {n}
            {a[n] === undefined ? " (added)" : b[n] === undefined ? " (removed)" : ""}
          </h4>
          <UnifiedDiffView
            before={a[n] ?? ""}
            after={b[n] ?? ""}
            beforeLabel={`${n} in ${versionLabel(from)}`}
            afterLabel={`${n} in ${versionLabel(to)}`}
          />
        </div>
      ))}
    </div>
  );
}

function ModelDetail({ name }: { name: string }) {
  const [search, setSearch] = useSearchParams();
  const state = useApi((signal) => api.modelVersions(name, signal), [name]);
  const versions = state.data?.versions ?? [];
  const latest = versions[versions.length - 1];
  const shown = pickVersion(versions, search.get("v"), latest);
  const pair = diffPair(versions, search.get("from"), search.get("to"));
  const set = (changes: Record<string, string>) => {
    const next = new URLSearchParams(search);
    for (const [k, v] of Object.entries(changes)) next.set(k, v);
    setSearch(next, { replace: true });
  };
  const methods = shown ? methodSources(shown.source) : {};

  return (
    <div className="page an-page" data-testid="model-page">
      <div className="an-crumbs">
        <Link to="/models">Models</Link> <span className="muted">/</span>
      </div>
      <h1 className="an-mono" data-testid="model-name">
        {name}
      </h1>
      {state.error && <ErrorBox error={state.error} />}
      {state.loading && !state.data && <Loading />}
      {state.data && (
        <>
          <section className="an-card">
            <h2>
              Versions <span className="muted">({versions.length})</span>
            </h2>
            <table className="an-table" data-testid="model-versions">
              <thead>
                <tr>
                  <th>version</th>
                  <th>digest</th>
                  <th>attributes</th>
                  <th>first run</th>
                  <th className="an-num">calls</th>
                </tr>
              </thead>
              <tbody>
                {versions.map((v) => (
                  <tr
                    key={v.digest}
                    data-testid="model-version"
                    data-version={v.version}
                    className={shown?.digest === v.digest ? "an-selected" : ""}
                  >
                    <td>
                      <button type="button" className="btn btn-link" onClick={() => set({ v: String(v.version) })}>
                        v{v.version}
                      </button>
                      {v === latest && <span className="an-tag an-tag-base">latest</span>}
                    </td>
                    <td className="an-mono">{shortDigest(v.digest)}</td>
                    <td className="an-attrs-cell">
                      <AttributeTable value={v.attributes} compact />
                    </td>
                    <td>{fmtTime(v.created_at)}</td>
                    <td className="an-num">{fmtInt(v.calls)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>

          <section className="an-card">
            <div className="an-card-head">
              <h2>Diff</h2>
              {pair && (
                <VersionPicker
                  versions={versions}
                  from={pair.from}
                  to={pair.to}
                  label={versionLabel}
                  onChange={(from, to) => set({ from: String(from), to: String(to) })}
                />
              )}
            </div>
            {pair ? (
              <>
                <h3>Attributes</h3>
                <AttributeDiff before={pair.from.attributes} after={pair.to.attributes} />
                <MethodDiffs from={pair.from} to={pair.to} />
              </>
            ) : (
              <p className="muted an-pad">Only one version so far: nothing to diff.</p>
            )}
          </section>

          {shown && (
            <section className="an-card" data-testid="model-version-detail">
              <div className="an-card-head">
                <h2>v{shown.version}</h2>
                <span className="muted an-mono">{shown.digest}</span>
              </div>
              <h3>Attributes</h3>
              <AttributeTable value={shown.attributes} />
              {Object.keys(methods).length > 0 && <h3>Methods</h3>}
              {Object.entries(methods).map(([method, src]) => (
                <div key={method} className="an-method">
                  <h4 className="an-mono">{method}</h4>
                  <TruncatedText text={src || "(source not available)"} limit={20_000} className="an-source" />
                </div>
              ))}
            </section>
          )}
        </>
      )}
    </div>
  );
}

export default function ModelsPage() {
  const { name } = useParams();
  return name ? <ModelDetail key={name} name={name} /> : <ModelList />;
}
