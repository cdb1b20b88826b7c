/**
 * The traces table's filters. Every value lives in the page URL (the caller owns it):
 * text fields commit on Enter or when they lose focus, selects and toggles at once, and
 * each commit is one history entry, so the back button undoes it.
 */
import { useEffect, useState, type ReactNode } from "react";
import { isoToLocalInput, localInputToIso } from "../lib/format";
import { CALL_STATUSES, FEEDBACK_FILTERS, KIND_FILTERS } from "../api/vocabulary";
import { RANGES } from "../lib/filters";

const KIND_LABELS: Record<(typeof KIND_FILTERS)[number], string> = {
  llm: "LLM call",
  op: "SDK op",
  agent: "agent span",
  chain: "chain span",
  tool: "tool span",
  retriever: "retriever span",
  embedding: "embedding span",
};
const FEEDBACK_LABELS: Record<(typeof FEEDBACK_FILTERS)[number], string> = {
  up: "thumbs up",
  down: "thumbs down",
  any: "has feedback",
  none: "no feedback",
};

export interface FilterBarProps {
  params: URLSearchParams;
  set: (changes: Record<string, string | null>) => void;
  suggestions?: { model?: string[]; op_name?: string[] };
}

function TextFilter({
  name,
  label,
  params,
  set,
  placeholder,
  type = "text",
  list,
  wide = false,
}: {
  name: string;
  label: string;
  params: URLSearchParams;
  set: FilterBarProps["set"];
  placeholder?: string;
  type?: "text" | "number" | "search";
  list?: string;
  wide?: boolean;
}) {
  const current = params.get(name) ?? "";
  const [value, setValue] = useState(current);
  useEffect(() => setValue(current), [current]);
  const commit = () => {
    const v = value.trim();
    if (v !== current) set({ [name]: v || null });
  };
  return (
    <label className={`field ${wide ? "field-wide" : ""}`}>
      <span className="field-label">{label}</span>
      <input
        type={type}
        value={value}
        placeholder={placeholder}
        list={list}
        step={type === "number" ? "any" : undefined}
        data-testid={`filter-${name}`}
        onChange={(e) => setValue(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === "Enter") commit();
          if (e.key === "Escape") setValue(current);
        }}
      />
    </label>
  );
}

function SelectFilter({
  name,
  label,
  options,
  params,
  set,
}: {
  name: string;
  label: string;
  options: [string, string][];
  params: URLSearchParams;
  set: FilterBarProps["set"];
}) {
  const current = params.get(name) ?? "";
  const [value, setValue] = useState(current);
  useEffect(() => setValue(current), [current]);
  return (
    <label className="field">
      <span className="field-label">{label}</span>
      <select
        value={value}
        data-testid={`filter-${name}`}
        onChange={(e) => {
          setValue(e.target.value);
          set({ [name]: e.target.value || null });
        }}
      >
        {options.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}

function TimeFilter({ name, label, params, set }: { name: "since" | "until"; label: string; params: URLSearchParams; set: FilterBarProps["set"] }) {
  return (
    <label className="field">
      <span className="field-label">{label}</span>
      <input
        type="datetime-local"
        value={isoToLocalInput(params.get(name))}
        data-testid={`filter-${name}`}
        onChange={(e) => {
          const iso = e.target.value ? localInputToIso(e.target.value) : "";
          set(name === "since" ? { since: iso || null, range: null } : { until: iso || null });
        }}
      />
    </label>
  );
}

function PropertyAdder({ set }: { set: FilterBarProps["set"] }) {
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  const add = () => {
    if (!key.trim()) return;
    set({ [`property.${key.trim()}`]: value });
    setKey("");
    setValue("");
  };
  return (
    <div className="field property-adder">
      <span className="field-label">property</span>
      <div className="inline">
        <input placeholder="key" value={key} onChange={(e) => setKey(e.target.value)} data-testid="filter-property-key" onKeyDown={(e) => e.key === "Enter" && add()} />
        <span>=</span>
        <input placeholder="value" value={value} onChange={(e) => setValue(e.target.value)} data-testid="filter-property-value" onKeyDown={(e) => e.key === "Enter" && add()} />
        <button type="button" className="btn btn-small" onClick={add} data-testid="filter-property-add">
          Add
        </button>
      </div>
    </div>
  );
}

const LABELS: Record<string, string> = {
  q: "text",
  op_name: "op",
  op_version: "op version",
  model: "model",
  status: "status",
  session_id: "session",
  user_id: "user",
  project: "project",
  kind: "kind",
  trace_id: "trace",
  parent_id: "parent",
  prompt_digest: "prompt",
  since: "since",
  until: "until",
  range: "last",
  min_latency_ms: "latency ≥",
  max_latency_ms: "latency ≤",
  min_tokens: "tokens ≥",
  max_tokens: "tokens ≤",
  min_cost: "cost ≥ $",
  max_cost: "cost ≤ $",
  feedback: "feedback",
  roots_only: "roots only",
};

export function filterLabel(name: string): string {
  return name.startsWith("property.") ? name.slice(9) : (LABELS[name] ?? name);
}

/** Chips for every active filter, each with a remove button. */
export function ActiveFilters({ params, set, names }: { params: URLSearchParams; set: FilterBarProps["set"]; names: string[] }) {
  if (names.length === 0) return null;
  return (
    <div className="chips" data-testid="active-filters">
      {names.map((name) => {
        const raw = params.get(name) ?? "";
        const value = raw.length > 60 ? `${raw.slice(0, 60)}…` : raw;
        return (
          <span key={name} className="chip" data-testid="filter-chip" data-name={name}>
            <span className="chip-key">{filterLabel(name)}</span> {name === "roots_only" ? "" : value}
            <button type="button" aria-label={`remove ${name} filter`} onClick={() => set({ [name]: null })} data-testid="chip-remove">
              ×
            </button>
          </span>
        );
      })}
      <button type="button" className="btn btn-link" data-testid="clear-filters" onClick={() => set(Object.fromEntries(names.map((n) => [n, null])))}>
        Clear all
      </button>
    </div>
  );
}

/** The toggle follows a click at once (the URL update renders in a transition). */
function RootsOnly({ params, set }: { params: URLSearchParams; set: FilterBarProps["set"] }) {
  const current = params.get("roots_only") === "true";
  const [checked, setChecked] = useState(current);
  useEffect(() => setChecked(current), [current]);
  return (
    <label className="field toggle">
      <input
        type="checkbox"
        checked={checked}
        data-testid="filter-roots_only"
        onChange={(e) => {
          setChecked(e.target.checked);
          set({ roots_only: e.target.checked ? "true" : null });
        }}
      />
      <span>root traces only</span>
    </label>
  );
}

function Row({ children }: { children: ReactNode }) {
  return <div className="filter-row">{children}</div>;
}

export function FilterBar({ params, set, suggestions }: FilterBarProps) {
  const [more, setMore] = useState(() =>
    [...params.keys()].some((k) => !["q", "model", "op_name", "status", "range", "roots_only", "sort"].includes(k)),
  );
  const common = { params, set };
  return (
    <div className="filter-bar" data-testid="filter-bar">
      <Row>
        <TextFilter name="q" label="search" placeholder="text in prompts and answers" type="search" wide {...common} />
        <TextFilter name="op_name" label="op" placeholder="openai.chat.completions.create" list="op-suggestions" {...common} />
        <TextFilter name="model" label="model" placeholder="gpt-4o-mini" list="model-suggestions" {...common} />
        <SelectFilter
          name="status"
          label="status"
          options={[["", "any"], ...CALL_STATUSES.map((s): [string, string] => [s, s])]}
          {...common}
        />
        <SelectFilter
          name="range"
          label="time"
          options={[["", "all time"], ...Object.keys(RANGES).map((r): [string, string] => [r, `last ${r}`])]}
          {...common}
        />
        <RootsOnly params={params} set={set} />
        <button type="button" className="btn btn-link" onClick={() => setMore(!more)} data-testid="more-filters">
          {more ? "fewer filters" : "more filters"}
        </button>
      </Row>
      {more && (
        <div className="filter-more" data-testid="filter-more">
          <Row>
            <TextFilter name="session_id" label="session" {...common} />
            <TextFilter name="user_id" label="user" {...common} />
            <TextFilter name="op_version" label="op version" {...common} />
            <TextFilter name="project" label="project" {...common} />
            <SelectFilter name="kind" label="kind" options={[["", "any"], ...KIND_FILTERS.map((k): [string, string] => [k, KIND_LABELS[k]])]} {...common} />
            <SelectFilter
              name="feedback"
              label="feedback"
              options={[["", "any or none"], ...FEEDBACK_FILTERS.map((f): [string, string] => [f, FEEDBACK_LABELS[f]])]}
              {...common}
            />
            <TextFilter name="trace_id" label="trace id" {...common} />
            <TextFilter name="prompt_digest" label="prompt digest" {...common} />
          </Row>
          <Row>
            <TimeFilter name="since" label="since" {...common} />
            <TimeFilter name="until" label="until" {...common} />
            <TextFilter name="min_latency_ms" label="min latency ms" type="number" {...common} />
            <TextFilter name="max_latency_ms" label="max latency ms" type="number" {...common} />
            <TextFilter name="min_tokens" label="min tokens" type="number" {...common} />
            <TextFilter name="max_tokens" label="max tokens" type="number" {...common} />
            <TextFilter name="min_cost" label="min cost $" type="number" {...common} />
            <TextFilter name="max_cost" label="max cost $" type="number" {...common} />
            <PropertyAdder set={set} />
          </Row>
        </div>
      )}
      <datalist id="model-suggestions">
        {suggestions?.model?.map((m) => <option key={m} value={m} />)}
      </datalist>
      <datalist id="op-suggestions">
        {suggestions?.op_name?.map((m) => <option key={m} value={m} />)}
      </datalist>
    </div>
  );
}
