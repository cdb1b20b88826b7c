/**
 * `/compare?ids=a,b[,c,d]`: 2–4 calls side by side with their differences highlighted
 * (see `components/analytics/CompareTable.tsx`), then each call's whole conversation.
 * Without ids, a picker of recent calls.
 */
import { useMemo, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { api } from "../api/client";
import type { CallListItem, CallRecord } from "../api/types";
import { ChatMessages } from "../components/ChatMessages";
import { JsonBlock } from "../components/JsonBlock";
import { ErrorBox, Loading, StatusBadge } from "../components/Status";
import { CompareTable } from "../components/analytics/CompareTable";
import { callHref, compareHref } from "../components/analytics/links";
import { loadCompare } from "../lib/analytics/compareData";
import { parseIds } from "../lib/analytics/fields";
import { inputMessages, outputMessages } from "../lib/chat";
import { fmtCost, fmtMs, fmtTime } from "../lib/format";
import { useApi } from "../lib/useApi";
import "../components/analytics/analytics.css";

function Conversation({ call }: { call: CallRecord }) {
  const input = inputMessages(call.inputs);
  const output = outputMessages(call.output);
  return (
    <div className="an-convo" data-testid="compare-conversation">
      <h4>Input</h4>
      {input ? <ChatMessages messages={input} testId="compare-input" /> : <JsonBlock value={call.inputs} budget={6_000} />}
      <h4>Output</h4>
      {output ? <ChatMessages messages={output} testId="compare-output" /> : <JsonBlock value={call.output} budget={6_000} />}
    </div>
  );
}

function Conversations({ calls }: { calls: readonly CallRecord[] }) {
  const [open, setOpen] = useState(false);
  return (
    <section className="an-card">
      <div className="an-card-head">
        <h2>Full conversations</h2>
        <button type="button" className="btn btn-small" onClick={() => setOpen(!open)} data-testid="conversations-toggle">
          {open ? "hide" : "show"}
        </button>
      </div>
      {open && (
        <div className={`an-convos an-cols-${calls.length}`}>
          {calls.map((c) => (
            <Conversation key={c.id} call={c} />
          ))}
        </div>
      )}
    </section>
  );
}

function Picker({ initial }: { initial: string[] }) {
  const navigate = useNavigate();
  const [picked, setPicked] = useState<string[]>(initial);
  const [typed, setTyped] = useState(initial.join(","));
  const recent = useApi((signal) => api.calls(new URLSearchParams({ limit: "30" }), signal), []);
  const toggle = (id: string) => {
    const next = picked.includes(id) ? picked.filter((x) => x !== id) : [...picked, id].slice(-4);
    setPicked(next);
    setTyped(next.join(","));
  };
  const typedIds = parseIds(typed).ids;
  return (
    <section className="an-card" data-testid="compare-picker">
      <form
        className="an-picker-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (typedIds.length >= 2) void navigate(compareHref(typedIds.slice(0, 4)));
        }}
      >
        <label>
          Call ids, comma-separated{" "}
          <input
            className="an-input an-mono"
            value={typed}
            onChange={(e) => {
              setTyped(e.target.value);
              setPicked(parseIds(e.target.value).ids.slice(0, 4));
            }}
            placeholder="id1,id2"
            data-testid="compare-ids-input"
          />
        </label>
        <button type="submit" className="btn" disabled={typedIds.length < 2} data-testid="compare-go">
          Compare {typedIds.length >= 2 ? Math.min(typedIds.length, 4) : ""} calls
        </button>
      </form>
      <h3>Or pick 2–4 recent calls</h3>
      {recent.error && <ErrorBox error={recent.error} />}
      {recent.loading && !recent.data && <Loading />}
      {recent.data && recent.data.calls.length === 0 && <p className="muted an-pad">No calls recorded yet.</p>}
      {recent.data && recent.data.calls.length > 0 && (
        <table className="an-table">
          <thead>
            <tr>
              <th />
              <th>name</th>
              <th>model</th>
              <th>started</th>
              <th>status</th>
              <th className="an-num">latency</th>
              <th className="an-num">cost</th>
            </tr>
          </thead>
          <tbody>
            {recent.data.calls.map((c: CallListItem) => (
              <tr key={c.id} data-testid="compare-pick-row">
                <td>
                  <input
                    type="checkbox"
                    checked={picked.includes(c.id)}
                    onChange={() => toggle(c.id)}
                    aria-label={`pick ${c.id}`}
                  />
                </td>
                <td>
                  <Link to={callHref(c.id)}>{c.display_name || c.op_name}</Link>
                </td>
                <td className="an-mono">{c.model ?? ""}</td>
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

export default function ComparePage() {
  const [search] = useSearchParams();
  const raw = search.get("ids");
  const { ids, problem } = useMemo(() => parseIds(raw), [raw]);
  const ready = ids.length >= 2;
  const key = ids.join(",");
  const state = useApi((signal) => (ready ? loadCompare(ids, signal) : Promise.resolve(null)), [key, ready]);

  const current = !ready || (state.data?.calls.map((c) => c.id).join(",") ?? "") === key;
  return (
    <div className="page an-page" data-testid="compare-page" aria-busy={state.loading || !current}>
      <h1>Compare calls</h1>
      {problem && <p className="muted an-note">{problem}</p>}
      {!ready && <Picker initial={ids} />}
      {ready && state.error && <ErrorBox error={state.error} />}
      {ready && state.loading && !state.data && <Loading what="Loading calls" />}
      {ready && state.data && (
        <>
          {state.data.truncated && (
            <p className="muted an-note" data-testid="compare-truncated">
              These records have more fields than the server lists; open each call for the rest.
            </p>
          )}
          <CompareTable calls={state.data.calls} fields={state.data.fields} />
          <Conversations calls={state.data.calls} />
          <p className="muted an-note">
            <Link to="/compare">pick other calls</Link>
          </p>
        </>
      )}
    </div>
  );
}
