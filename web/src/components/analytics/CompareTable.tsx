/**
 * 2–4 calls side by side: one column per call, one row per field (metrics, parameters,
 * conversation, output). The first call is the baseline: differing text in the other
 * columns is shown as a word/line diff against it, metrics with their delta; identical
 * fields are muted and, outside metrics, folded away until asked for.
 */
import { useState } from "react";
import { Link } from "react-router";
import type { CallRecord, Status } from "../../api/types";
import { bySection, CORE_METRICS, type CompareField, type Section } from "../../lib/analytics/fields";
import { fmtDelta, fmtMetric, metricKind } from "../../lib/analytics/numbers";
import { asText } from "../../lib/analytics/textdiff";
import { sameValue } from "../../lib/json";
import { fmtTime } from "../../lib/format";
import { StatusBadge } from "../Status";
import { TruncatedText } from "../Truncated";
import { DiffText } from "./DiffText";
import { callHref, compareHref } from "./links";

const SECTION_TITLES: Record<Section, string> = {
  metrics: "Metrics",
  parameters: "Parameters",
  inputs: "Inputs",
  output: "Output",
};

const METRIC_LABELS: Record<string, string> = {
  op_name: "op",
  display_name: "name",
  op_version: "op version",
  status: "status",
  http_status: "HTTP status",
  model: "model",
  response_model: "response model",
  prompt_digest: "prompt digest",
  usage_source: "usage source",
  error: "error",
  latency_ms: "latency",
  ttft_ms: "time to first token",
  "usage.prompt_tokens": "prompt tokens",
  "usage.completion_tokens": "completion tokens",
  "usage.total_tokens": "total tokens",
  "usage.cached_tokens": "cached tokens",
  "usage.reasoning_tokens": "reasoning tokens",
  cost_usd: "cost",
};

/** A path without its section's own prefix: `inputs.messages[0].content` → `messages[0].content`. */
export function fieldLabel(field: CompareField): string {
  if (field.section === "metrics") return METRIC_LABELS[field.path] ?? field.path;
  const stripped = field.path.replace(/^(inputs|output)(\.|(?=\[))/, "");
  return stripped || field.path;
}

function Missing() {
  return <span className="muted an-missing">— missing</span>;
}

function ValueText({ value, metric = false }: { value: unknown; metric?: boolean }) {
  if (value === null || value === undefined) return metric ? <span className="muted">—</span> : <Missing />;
  return <TruncatedText text={asText(value)} className="an-value" />;
}

function MetricCell({ field, index }: { field: CompareField; index: number }) {
  const kind = metricKind(field.path);
  const value = field.values[index];
  const delta = index > 0 ? fmtDelta(value, field.values[0], kind) : null;
  if (kind === "text" && field.path !== "status") {
    return field.same || index === 0 || value === null ? (
      <td className="an-cell" data-testid="compare-cell">
        <ValueText value={value} metric />
      </td>
    ) : (
      <DiffCell field={field} index={index} />
    );
  }
  if (field.path === "status" && typeof value === "string") {
    return (
      <td className="an-cell" data-testid="compare-cell">
        <StatusBadge status={value as Status} />
      </td>
    );
  }
  return (
    <td className="an-cell an-metric" data-testid="compare-cell">
      <span className="an-metric-value">{fmtMetric(value, kind)}</span>
      {delta && (
        <span
          className={`an-delta ${delta.sign > 0 ? "an-delta-up" : delta.sign < 0 ? "an-delta-down" : "an-delta-zero"}`}
          data-testid="metric-delta"
        >
          {delta.text}
        </span>
      )}
    </td>
  );
}

function DiffCell({ field, index }: { field: CompareField; index: number }) {
  const value = field.values[index];
  const base = field.values[0];
  if (index === 0) {
    return (
      <td className="an-cell" data-testid="compare-cell">
        <ValueText value={value} />
      </td>
    );
  }
  if (sameValue(value, base)) {
    return (
      <td className="an-cell an-same-as-base" data-testid="compare-cell">
        <span className="muted">= same as baseline</span>
      </td>
    );
  }
  if (value === null || base === null) {
    return (
      <td className="an-cell an-changed" data-testid="compare-cell">
        {value === null ? <Missing /> : <ValueText value={value} />}
      </td>
    );
  }
  if (typeof value !== "string" || typeof base !== "string") {
    // numbers, booleans, objects: a character diff of "7" against "8" reads as noise
    return (
      <td className="an-cell an-changed" data-testid="compare-cell">
        <span className="an-changed-value" data-testid="value-changed">
          <TruncatedText text={asText(value)} className="an-value" />
        </span>
      </td>
    );
  }
  return (
    <td className="an-cell an-changed" data-testid="compare-cell">
      <DiffText before={asText(base)} after={asText(value)} />
    </td>
  );
}

function FieldRow({ field, count }: { field: CompareField; count: number }) {
  const label = fieldLabel(field);
  const metric = field.section === "metrics";
  return (
    <tr
      className={`an-field ${field.same ? "an-same" : "an-differs"}`}
      data-testid="compare-field"
      data-path={field.path}
      data-section={field.section}
      data-same={field.same ? "true" : "false"}
    >
      <th scope="row" className="an-field-name" title={field.path}>
        {label}
        {field.same ? (
          <span className="an-tag an-tag-same" data-testid="field-same">
            same
          </span>
        ) : (
          <span className="an-tag an-tag-diff" data-testid="field-differs">
            differs
          </span>
        )}
      </th>
      {metric ? (
        field.values.map((_, i) => <MetricCell key={i} field={field} index={i} />)
      ) : field.same ? (
        <td className="an-cell an-same-cell" colSpan={count} data-testid="compare-cell">
          <ValueText value={field.values[0]} />
        </td>
      ) : (
        field.values.map((_, i) => <DiffCell key={i} field={field} index={i} />)
      )}
    </tr>
  );
}

function SectionRows({
  section,
  fields,
  count,
  showSame,
}: {
  section: Section;
  fields: CompareField[];
  count: number;
  showSame: boolean;
}) {
  const [open, setOpen] = useState(false);
  const differing = fields.filter((f) => !f.same).length;
  const identical = fields.length - differing;
  // Identical fields fold away, except the core metrics (latency, tokens, cost...) a call has.
  const folds = (f: CompareField) =>
    f.same && !(section === "metrics" && CORE_METRICS.has(f.path) && f.values.some((v) => v !== null));
  const folded = showSame ? 0 : fields.filter(folds).length;
  const shown = showSame || open ? fields : fields.filter((f) => !folds(f));
  return (
    <tbody className={`an-section an-section-${section}`} data-testid={`compare-section-${section}`}>
      <tr className="an-section-head">
        <th colSpan={count + 1}>
          {SECTION_TITLES[section]}{" "}
          <span className="muted an-section-count">
            {differing} differing · {identical} identical
          </span>
        </th>
      </tr>
      {shown.map((f) => (
        <FieldRow key={`${f.section}:${f.path}`} field={f} count={count} />
      ))}
      {folded > 0 && (
        <tr className="an-fold">
          <td colSpan={count + 1}>
            <button
              type="button"
              className="btn btn-link"
              data-testid="identical-toggle"
              onClick={() => setOpen(!open)}
            >
              {open ? "hide" : "show"} {folded} identical {folded === 1 ? "field" : "fields"}
            </button>
          </td>
        </tr>
      )}
    </tbody>
  );
}

function CallHeader({ call, index, ids }: { call: CallRecord; index: number; ids: string[] }) {
  const title = call.display_name || call.op_name;
  const asBaseline = [call.id, ...ids.filter((id) => id !== call.id)];
  return (
    <th className="an-col-head" data-testid="compare-column" data-call-id={call.id} scope="col">
      <div className="an-col-title">
        {index === 0 ? <span className="an-tag an-tag-base">baseline</span> : <span className="an-tag">#{index + 1}</span>}{" "}
        <Link to={callHref(call.id)} className="an-col-link">
          {title}
        </Link>
      </div>
      <div className="an-col-meta muted">
        {call.model && <span className="an-mono">{call.model}</span>}
        <span>{fmtTime(call.started_at)}</span>
        <StatusBadge status={call.status} http={call.http_status} />
      </div>
      <div className="an-col-id muted an-mono">
        {call.id}
        {index > 0 && (
          <Link to={compareHref(asBaseline)} className="an-make-base" data-testid="make-baseline">
            make baseline
          </Link>
        )}
      </div>
    </th>
  );
}

export function CompareTable({ calls, fields }: { calls: readonly CallRecord[]; fields: readonly CompareField[] }) {
  const [showSame, setShowSame] = useState(false);
  const groups = bySection(fields);
  const differing = fields.filter((f) => !f.same).length;
  return (
    <div className="an-compare">
      <div className="an-toolbar">
        <span className="muted" data-testid="compare-summary">
          {calls.length} calls · {fields.length} fields · {differing} differ
        </span>
        <label className="an-check">
          <input
            type="checkbox"
            checked={showSame}
            onChange={(e) => setShowSame(e.target.checked)}
            data-testid="show-identical"
          />{" "}
          show identical fields
        </label>
      </div>
      <div className="an-scroll">
        <table className={`an-compare-table an-cols-${calls.length}`} data-testid="compare-table">
          <colgroup>
            <col className="an-col-field" />
            {calls.map((c) => (
              <col key={c.id} />
            ))}
          </colgroup>
          <thead>
            <tr>
              <th className="an-field-name" scope="col">
                field
              </th>
              {calls.map((call, i) => (
                <CallHeader key={call.id} call={call} index={i} ids={calls.map((c) => c.id)} />
              ))}
            </tr>
          </thead>
          {groups.map(([section, list]) => (
            <SectionRows key={section} section={section} fields={list} count={calls.length} showSame={showSame} />
          ))}
        </table>
      </div>
    </div>
  );
}
