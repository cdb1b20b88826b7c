/**
 * Everything about one call or SDK span: summary metrics, error, the conversation sent and
 * the reassembled answer, parameters, tags, feedback and the raw request/response JSON.
 * Reused by the call page, the trace view (selected node) and the compare page.
 */
import { useMemo, useState, type ReactNode } from "react";
import { Link } from "react-router";
import type { CallRecord, Feedback } from "../api/types";
import { inputMessages, isObj, outputMessages, parameters } from "../lib/chat";
import { fmtCost, fmtInt, fmtMs, fmtTime } from "../lib/format";
import { ChatMessages } from "./ChatMessages";
import { CopyButton } from "./CopyButton";
import { FeedbackPanel } from "./FeedbackPanel";
import { JsonBlock } from "./JsonBlock";
import { StatusBadge } from "./Status";
import { TruncatedText } from "./Truncated";

export function Section({ title, children, testId, right }: { title: string; children: ReactNode; testId?: string; right?: ReactNode }) {
  return (
    <section className="section" data-testid={testId}>
      <div className="section-head">
        <h3>{title}</h3>
        {right}
      </div>
      {children}
    </section>
  );
}

function Metric({ label, value, title, testId }: { label: string; value: ReactNode; title?: string; testId?: string }) {
  return (
    <div className="metric" title={title} data-testid={testId}>
      <div className="metric-label">{label}</div>
      <div className="metric-value">{value}</div>
    </div>
  );
}

/** The record's name as a user would call it. */
export function callName(call: Pick<CallRecord, "display_name" | "op_name">): string {
  return call.display_name || call.op_name;
}

function usageEstimate(call: CallRecord): string | undefined {
  const how = call.attributes?.usage_estimate;
  return typeof how === "string" ? how : undefined;
}

function properties(call: CallRecord): [string, string][] {
  const props = call.attributes?.properties;
  if (!isObj(props)) return [];
  return Object.entries(props).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v) ?? ""]);
}

/** A compact row of the call's numbers (latency, ttft, tokens, cost, usage source). */
export function CallMetrics({ call }: { call: CallRecord }) {
  const u = call.usage;
  const estimate = usageEstimate(call);
  return (
    <div className="metrics" data-testid="call-metrics">
      <Metric label="latency" value={fmtMs(call.latency_ms)} testId="metric-latency" />
      {(call.ttft_ms !== null || call.kind === "llm") && (
        <Metric label="ttft" value={fmtMs(call.ttft_ms)} title="time to first token (streams)" testId="metric-ttft" />
      )}
      {call.overhead_ms !== null && <Metric label="proxy overhead" value={fmtMs(call.overhead_ms)} />}
      {(u || call.kind === "llm") && (
        <>
          <Metric label="prompt tokens" value={fmtInt(u?.prompt_tokens)} testId="metric-prompt-tokens" />
          <Metric label="completion tokens" value={fmtInt(u?.completion_tokens)} testId="metric-completion-tokens" />
          <Metric label="total tokens" value={fmtInt(u?.total_tokens)} testId="metric-total-tokens" />
        </>
      )}
      {!!u?.cached_tokens && <Metric label="cached" value={fmtInt(u.cached_tokens)} />}
      {!!u?.reasoning_tokens && <Metric label="reasoning" value={fmtInt(u.reasoning_tokens)} />}
      {call.usage_source && (
        <Metric
          label="usage source"
          value={call.usage_source + (estimate ? ` (${estimate})` : "")}
          title={
            call.usage_source === "upstream"
              ? "reported by the upstream"
              : call.usage_source === "injected"
                ? "wiretrace asked the upstream for usage on this stream (the app did not)"
                : "counted by wiretrace: the upstream reported none"
          }
          testId="metric-usage-source"
        />
      )}
      {(call.cost_usd !== null || call.kind === "llm") && <Metric label="cost" value={fmtCost(call.cost_usd)} testId="metric-cost" />}
      {call.http_status !== null && <Metric label="HTTP" value={String(call.http_status)} />}
    </div>
  );
}

function Conversation({ call }: { call: CallRecord }) {
  const input = useMemo(() => inputMessages(call.inputs), [call.inputs]);
  const output = useMemo(() => outputMessages(call.output), [call.output]);
  const params = useMemo(() => parameters(call.inputs), [call.inputs]);
  return (
    <>
      <Section title={input ? `Input · ${input.length} message${input.length === 1 ? "" : "s"}` : "Input"} testId="call-input">
        {input ? (
          <ChatMessages messages={input} testId="input-messages" />
        ) : call.inputs === null || call.inputs === undefined ? (
          <p className="muted">No inputs recorded.</p>
        ) : (
          <JsonBlock value={call.inputs} />
        )}
      </Section>
      <Section title="Output" testId="call-output">
        {output ? (
          <ChatMessages messages={output} testId="output-messages" />
        ) : typeof call.output === "string" ? (
          <TruncatedText text={call.output} className="part-text" />
        ) : call.output === null || call.output === undefined ? (
          <p className="muted">{call.status === "running" ? "Still running." : "No output recorded."}</p>
        ) : (
          <JsonBlock value={call.output} />
        )}
      </Section>
      {params && Object.keys(params).length > 0 && (
        <Section title="Parameters" testId="call-params">
          <JsonBlock value={params} budget={8_000} />
        </Section>
      )}
    </>
  );
}

function Tags({ call }: { call: CallRecord }) {
  const props = properties(call);
  const rows: [string, ReactNode][] = [
    ["id", <span className="mono">{call.id} <CopyButton text={call.id} label="copy" /></span>],
    ["trace", <Link className="mono" to={`/traces/${call.trace_id}?node=${call.id}`} data-testid="trace-link">{call.trace_id}</Link>],
    ["project", call.project],
    ["started", fmtTime(call.started_at)],
    ["ended", fmtTime(call.ended_at)],
  ];
  if (call.parent_id) rows.push(["parent", <span className="mono">{call.parent_id}</span>]);
  if (call.model || call.response_model) {
    rows.push(["model", `${call.model ?? "—"}${call.response_model && call.response_model !== call.model ? ` → ${call.response_model}` : ""}`]);
  }
  if (call.session_id) rows.push(["session", <Link to={`/?session_id=${encodeURIComponent(call.session_id)}`}>{call.session_id}</Link>]);
  if (call.user_id) rows.push(["user", <Link to={`/?user_id=${encodeURIComponent(call.user_id)}`}>{call.user_id}</Link>]);
  if (call.op_version) rows.push(["op version", <Link to={`/ops/${encodeURIComponent(call.op_name)}`} className="mono">{call.op_version.slice(0, 12)}</Link>]);
  if (call.model_version) rows.push(["model version", <span className="mono">{call.model_version.slice(0, 12)}</span>]);
  if (call.prompt_digest) rows.push(["prompt", <Link className="mono" to={`/?prompt_digest=${encodeURIComponent(call.prompt_digest)}`}>{call.prompt_digest}</Link>]);
  if (call.key_fingerprint) rows.push(["API key", <span className="mono">{call.key_fingerprint}</span>]);
  return (
    <dl className="tags" data-testid="call-tags">
      {rows.map(([k, v]) => (
        <div key={k} className="tag-row">
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
      {props.map(([k, v]) => (
        <div key={`p:${k}`} className="tag-row" data-testid="call-property">
          <dt>{k}</dt>
          <dd>
            <Link to={`/?${new URLSearchParams({ [`property.${k}`]: v }).toString()}`}>{clipLabel(v)}</Link>
          </dd>
        </div>
      ))}
    </dl>
  );
}

function clipLabel(v: string): string {
  return v.length > 200 ? `${v.slice(0, 200)}…` : v;
}

type RawTab = "request" | "response" | "record";

function RawJson({ call }: { call: CallRecord }) {
  const [tab, setTab] = useState<RawTab>("request");
  const value = tab === "request" ? call.inputs : tab === "response" ? call.output : call;
  return (
    <Section
      title="Raw JSON"
      testId="raw-json"
      right={
        <div className="tabs">
          {(["request", "response", "record"] as const).map((t) => (
            <button key={t} type="button" className={`tab ${tab === t ? "active" : ""}`} onClick={() => setTab(t)} data-testid={`raw-tab-${t}`}>
              {t}
            </button>
          ))}
        </div>
      }
    >
      <JsonBlock key={tab} value={value} />
    </Section>
  );
}

export function CallError({ error }: { error: NonNullable<CallRecord["error"]> }) {
  const message = typeof error.message === "string" ? error.message : JSON.stringify(error.message ?? null);
  const kind = [error.type, error.code].filter((v) => typeof v === "string" && v).join(" · ");
  const traceback = typeof error.traceback === "string" ? error.traceback : null;
  return (
    <div className="call-error" data-testid="call-error" role="alert">
      <div>
        <strong>Error{kind ? ` (${kind})` : ""}:</strong> <TruncatedText text={message} className="inline-text" limit={1000} />
      </div>
      {traceback && <TruncatedText text={traceback} className="traceback mono" limit={3000} />}
    </div>
  );
}

export function CallHeader({ call, link = false }: { call: CallRecord; link?: boolean }) {
  return (
    <div className="call-header" data-testid="call-header">
      <h2>
        {link ? <Link to={`/calls/${call.id}`}>{callName(call)}</Link> : callName(call)}{" "}
        <StatusBadge status={call.status} http={call.http_status} />
        <span className={`tag kind-${call.kind}`}>{call.kind}</span>
      </h2>
      <div className="muted">
        {call.model && <span data-testid="call-model">{call.model} · </span>}
        {fmtTime(call.started_at)}
      </div>
    </div>
  );
}

/** The full detail of a call; `feedback` (from GET /api/calls/{id}) shows the feedback panel. */
export function CallDetail({ call, feedback, headerLink = false }: { call: CallRecord; feedback?: Feedback[] | undefined; headerLink?: boolean }) {
  return (
    <div className="call-detail" data-testid="call-detail" data-call-id={call.id}>
      <CallHeader call={call} link={headerLink} />
      <CallMetrics call={call} />
      {call.error && <CallError error={call.error} />}
      <Conversation call={call} />
      <Section title="Details" testId="call-details">
        <Tags call={call} />
      </Section>
      {feedback !== undefined && (
        <Section title="Feedback" testId="call-feedback">
          <FeedbackPanel key={call.id} callId={call.id} initial={feedback} />
        </Section>
      )}
      <RawJson call={call} />
    </div>
  );
}
