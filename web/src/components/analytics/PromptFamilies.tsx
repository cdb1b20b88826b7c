/**
 * Prompt families inferred from traffic (`GET /api/prompts`): calls grouped by name, each
 * distinct template a version. Opening one (`?prompt=<name>`) lists its versions with their
 * templates and a line diff between any two (`pfrom`, `pto`).
 */
import { Link, useSearchParams } from "react-router";
import { api } from "../../api/client";
import type { PromptVersion } from "../../api/types";
import { diffPair, pickVersion, shortDigest } from "../../lib/analytics/versions";
import { fmtAgo, fmtInt, fmtTime } from "../../lib/format";
import { boundedJson } from "../../lib/truncate";
import { useApi } from "../../lib/useApi";
import { ErrorBox, Loading } from "../Status";
import { JsonBlock } from "../JsonBlock";
import { UnifiedDiffView } from "./UnifiedDiffView";
import { VersionPicker } from "./VersionPicker";

const label = (v: PromptVersion) => `v${v.version} · ${shortDigest(v.digest)}`;
const templateText = (v: PromptVersion) => boundedJson(v.template, 400_000).text;

function FamilyVersions({ name }: { name: string }) {
  const [search, setSearch] = useSearchParams();
  const state = useApi((signal) => api.promptVersions(name, signal), [name]);
  const versions = state.data?.versions ?? [];
  const shown = pickVersion(versions, search.get("pv"), versions[versions.length - 1]);
  const pair = diffPair(versions, search.get("pfrom"), search.get("pto"));
  const set = (changes: Record<string, string>) => {
    const next = new URLSearchParams(search);
    for (const [k, v] of Object.entries(changes)) next.set(k, v);
    setSearch(next, { replace: true });
  };
  return (
    <div className="an-family" data-testid="prompt-family">
      <div className="an-card-head">
        <h3 className="an-mono">{name}</h3>
        <span className="an-spacer" />
        <button type="button" className="btn btn-small" onClick={() => {
          const next = new URLSearchParams(search);
          for (const k of ["prompt", "pv", "pfrom", "pto"]) next.delete(k);
          setSearch(next, { replace: true });
        }}>
          close
        </button>
      </div>
      {state.error && <ErrorBox error={state.error} />}
      {state.loading && !state.data && <Loading />}
      {state.data && (
        <>
          <table className="an-table">
            <thead>
              <tr>
                <th>version</th>
                <th>digest</th>
                <th>first seen</th>
                <th>last seen</th>
                <th className="an-num">calls</th>
                <th>changed</th>
              </tr>
            </thead>
            <tbody>
              {versions.map((v) => (
                <tr key={v.digest} data-testid="prompt-version" className={shown?.digest === v.digest ? "an-selected" : ""}>
                  <td>
                    <button type="button" className="btn btn-link" onClick={() => set({ pv: String(v.version) })}>
                      v{v.version}
                    </button>
                    {!v.exact && <span className="an-tag" title="the rebuilt template no longer digests to this version">approx.</span>}
                  </td>
                  <td className="an-mono">{shortDigest(v.digest)}</td>
                  <td>{fmtTime(v.first_seen)}</td>
                  <td>{fmtTime(v.last_seen)}</td>
                  <td className="an-num">
                    <Link to={`/?prompt_digest=${encodeURIComponent(v.digest)}`}>{fmtInt(v.calls)}</Link>
                  </td>
                  <td className="an-mono">{v.changed.join(", ") || "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {pair && (
            <>
              <div className="an-card-head">
                <h4>Template diff</h4>
                <VersionPicker
                  versions={versions}
                  from={pair.from}
                  to={pair.to}
                  label={label}
                  onChange={(from, to) => set({ pfrom: String(from), pto: String(to) })}
                />
              </div>
              <UnifiedDiffView
                before={templateText(pair.from)}
                after={templateText(pair.to)}
                beforeLabel={label(pair.from)}
                afterLabel={label(pair.to)}
              />
            </>
          )}
          {shown && <JsonBlock value={shown.template} title={`template of v${shown.version}`} budget={8_000} />}
        </>
      )}
    </div>
  );
}

export function PromptFamilies() {
  const [search, setSearch] = useSearchParams();
  const state = useApi((signal) => api.prompts(signal), []);
  const open = search.get("prompt");
  if (state.error) return null; // a server without prompt families: the section is optional
  const families = state.data?.prompts ?? [];
  return (
    <section className="an-card" data-testid="prompt-families">
      <h2>
        Prompts <span className="muted">inferred from traffic</span>
      </h2>
      {state.loading && !state.data && <Loading />}
      {state.data && families.length === 0 && <p className="muted an-pad">No prompts recorded yet.</p>}
      {families.length > 0 && (
        <table className="an-table">
          <thead>
            <tr>
              <th>prompt</th>
              <th className="an-num">versions</th>
              <th className="an-num">calls</th>
              <th>last seen</th>
            </tr>
          </thead>
          <tbody>
            {families.map((f) => (
              <tr key={f.name} data-testid="prompt-row" className={open === f.name ? "an-selected" : ""}>
                <td>
                  <button
                    type="button"
                    className="btn btn-link an-mono"
                    onClick={() => {
                      const next = new URLSearchParams(search);
                      for (const k of ["pv", "pfrom", "pto"]) next.delete(k);
                      next.set("prompt", f.name);
                      setSearch(next, { replace: true });
                    }}
                  >
                    {f.name}
                  </button>
                </td>
                <td className="an-num">{fmtInt(f.versions.length)}</td>
                <td className="an-num">{fmtInt(f.calls)}</td>
                <td title={f.last_seen}>{fmtAgo(f.last_seen)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {open && <FamilyVersions key={open} name={open} />}
    </section>
  );
}
