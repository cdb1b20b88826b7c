/**
 * `/ops`: the ops the SDK reported (`@wiretrace.op`) with their version counts, and the
 * prompt families inferred from traffic. `/ops/:name`: an op's versions, each with its
 * source, a line diff between any two (`?from=1&to=2`), and the calls of a version
 * (`?v=2`), which can be compared side by side.
 */
import { useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { api } from "../api/client";
import type { OpVersion } from "../api/types";
import { ErrorBox, Loading, StatusBadge } from "../components/Status";
import { TruncatedText } from "../components/Truncated";
import { PromptFamilies } from "../components/analytics/PromptFamilies";
import { UnifiedDiffView } from "../components/analytics/UnifiedDiffView";
import { VersionPicker } from "../components/analytics/VersionPicker";
import { callHref, compareHref, opCallsHref } from "../components/analytics/links";
import { diffPair, pickVersion, shortDigest } from "../lib/analytics/versions";
import { fmtAgo, fmtCost, fmtInt, fmtMs, fmtTime } from "../lib/format";
import { useApi } from "../lib/useApi";
import "../components/analytics/analytics.css";

const enc = encodeURIComponent;

function OpList() {
  const ops = useApi((signal) => api.ops(signal), []);
  return (
    <div className="page an-page" data-testid="ops-page">
      <h1>Ops</h1>
      <p className="muted">
        Functions decorated with <code>@wiretrace.op</code>, versioned by their source code: editing a function makes a new version.
      </p>
      {ops.error && <ErrorBox error={ops.error} />}
      {ops.loading && !ops.data && <Loading />}
      {ops.data && ops.data.ops.length === 0 && (
        <div className="an-empty" data-testid="ops-empty">
          No ops recorded yet. Decorate a function with <code>@wiretrace.op</code> (Python SDK) and call it.
        </div>
      )}
      {ops.data && ops.data.ops.length > 0 && (
        <section className="an-card">
          <table className="an-table" data-testid="ops-table">
            <thead>
              <tr>
                <th>op</th>
                <th>project</th>
                <th className="an-num">versions</th>
                <th className="an-num">calls</th>
                <th>last called</th>
                <th>latest version</th>
              </tr>
            </thead>
            <tbody>
              {ops.data.ops.map((op) => (
                <tr key={`${op.project}/${op.name}`} data-testid="op-row" data-op={op.name}>
                  <td>
                    <Link to={`/ops/${enc(op.name)}`} className="an-mono">
                      {op.name}
                    </Link>
                  </td>
                  <td>{op.project}</td>
                  <td className="an-num" data-testid="op-version-count">
                    {fmtInt(op.versions)}
                  </td>
                  <td className="an-num">
                    <Link to={opCallsHref(op.name)}>{fmtInt(op.calls)}</Link>
                  </td>
                  <td title={op.last_called_at ?? ""}>{op.last_called_at ? fmtAgo(op.last_called_at) : "—"}</td>
                  <td className="an-mono">{shortDigest(op.latest_version)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      <PromptFamilies />
    </div>
  );
}

function versionLabel(v: OpVersion): string {
  return `v${v.version} · ${shortDigest(v.digest)}`;
}

function VersionCalls({ op, version }: { op: string; version: OpVersion }) {
  const calls = useApi(
    (signal) => api.calls(new URLSearchParams({ op_name: op, op_version: version.digest, limit: "20" }), signal),
    [op, version.digest],
  );
  const [picked, setPicked] = useState<string[]>([]);
  const navigate = useNavigate();
  return (
    <section className="an-card" data-testid="version-calls">
      <div className="an-card-head">
        <h2>Calls of v{version.version}</h2>
        <span className="an-spacer" />
        <button
          type="button"
          className="btn btn-small"
          disabled={picked.length < 2}
          onClick={() => void navigate(compareHref(picked))}
          data-testid="compare-picked"
        >
          compare {picked.length >= 2 ? picked.length : ""} picked
        </button>
        <Link to={opCallsHref(op, version.digest)} data-testid="version-calls-link">
          all {fmtInt(version.calls)} in the traces table →
        </Link>
      </div>
      {calls.error && <ErrorBox error={calls.error} />}
      {calls.loading && !calls.data && <Loading />}
      {calls.data && calls.data.calls.length === 0 && <p className="muted an-pad">No calls of this version.</p>}
      {calls.data && calls.data.calls.length > 0 && (
        <table className="an-table">
          <thead>
            <tr>
              <th />
              <th>call</th>
              <th>started</th>
              <th>status</th>
              <th className="an-num">latency</th>
              <th className="an-num">cost</th>
            </tr>
          </thead>
          <tbody>
            {calls.data.calls.map((c) => (
              <tr key={c.id} data-testid="version-call">
                <td>
                  <input
                    type="checkbox"
                    aria-label={`pick ${c.id}`}
                    checked={picked.includes(c.id)}
                    onChange={() =>
                      setPicked(picked.includes(c.id) ? picked.filter((x) => x !== c.id) : [...picked, c.id].slice(-4))
                    }
                  />
                </td>
                <td>
                  <Link to={callHref(c.id)} className="an-mono">
                    {c.display_name || c.id}
                  </Link>
                </td>
                <td>{fmtTime(c.started_at)}</td>
                <td>
                  <StatusBadge status={c.status} http={c.http_status} />
                </td>
                <td className="an-num">{fmtMs(c.latency_ms)}</td>
                <td className="an-num">{fmtCost(c.cost_usd)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function OpDetail({ name }: { name: string }) {
  const [search, setSearch] = useSearchParams();
  const state = useApi((signal) => api.opVersions(name, signal), [name]);
  const versions = state.data?.versions ?? [];
  const latest = versions[versions.length - 1];
  const shown = pickVersion(versions, search.get("v"), latest);
  const pair = diffPair(versions, search.get("from"), search.get("to"));
  const set = (changes: Record<string, string>) => {
    const next = new URLSearchParams(search);
    for (const [k, v] of Object.entries(changes)) next.set(k, v);
    setSearch(next, { replace: true });
  };

  return (
    <div className="page an-page" data-testid="op-page">
      <div className="an-crumbs">
        <Link to="/ops">Ops</Link> <span className="muted">/</span>
      </div>
      <h1 className="an-mono" data-testid="op-name">
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
            <table className="an-table" data-testid="op-versions">
              <thead>
                <tr>
                  <th>version</th>
                  <th>digest</th>
                  <th>qualname</th>
                  <th>first run</th>
                  <th className="an-num">calls</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {versions.map((v) => (
                  <tr
                    key={v.digest}
                    data-testid="op-version"
                    data-version={v.version}
                    className={shown?.digest === v.digest ? "an-selected" : ""}
                  >
                    <td>
                      <button type="button" className="btn btn-link" onClick={() => set({ v: String(v.version) })} data-testid="op-version-show">
                        v{v.version}
                      </button>
                      {v === latest && <span className="an-tag an-tag-base">latest</span>}
                    </td>
                    <td className="an-mono">{shortDigest(v.digest)}</td>
                    <td className="an-mono">{[v.module, v.qualname].filter(Boolean).join(".") || "—"}</td>
                    <td>{fmtTime(v.created_at)}</td>
                    <td className="an-num">{fmtInt(v.calls)}</td>
                    <td>
                      <Link to={opCallsHref(name, v.digest)} data-testid="op-version-calls">
                        calls
                      </Link>
                    </td>
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
              <UnifiedDiffView
                before={pair.from.source}
                after={pair.to.source}
                beforeLabel={versionLabel(pair.from)}
                afterLabel={versionLabel(pair.to)}
              />
            ) : (
              <p className="muted an-pad">Only one version so far: nothing to diff.</p>
            )}
          </section>

          {shown && (
            <section className="an-card">
              <div className="an-card-head">
                <h2>Source of v{shown.version}</h2>
                <span className="muted an-mono">{shown.digest}</span>
              </div>
              {shown.source ? (
                <div data-testid="op-source">
                  <TruncatedText text={shown.source} limit={20_000} className="an-source" />
                </div>
              ) : (
                <p className="muted an-pad" data-testid="op-source">
                  Python could not read this version's source; it is versioned by its bytecode.
                </p>
              )}
            </section>
          )}
          {shown && <VersionCalls key={shown.digest} op={name} version={shown} />}
        </>
      )}
    </div>
  );
}

export default function OpsPage() {
  const { name } = useParams();
  return name ? <OpDetail key={name} name={name} /> : <OpList />;
}
