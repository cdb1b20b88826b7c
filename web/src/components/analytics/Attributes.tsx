/** A model version's attributes as a key/value table, and the difference of two of them. */
import { useMemo, useState } from "react";
import { flatten } from "../../lib/json";
import { asText } from "../../lib/analytics/textdiff";
import { attributeDiff, type AttrRow } from "../../lib/analytics/versions";
import { clip } from "../../lib/truncate";
import { TruncatedText } from "../Truncated";
import { DiffText } from "./DiffText";

const COMPACT_ROWS = 6;

export function AttributeTable({ value, compact = false }: { value: unknown; compact?: boolean }) {
  const rows = useMemo(() => flatten(value ?? {}, ""), [value]);
  const [all, setAll] = useState(false);
  const shown = compact && !all ? rows.slice(0, COMPACT_ROWS) : rows;
  if (rows.length === 1 && rows[0]?.[0] === "" && typeof rows[0][1] === "object") {
    return <span className="muted">no attributes</span>;
  }
  return (
    <table className={`an-attrs ${compact ? "an-attrs-compact" : ""}`} data-testid="model-attributes">
      <tbody>
        {shown.map(([path, v]) => (
          <tr key={path} data-testid="model-attribute" data-name={path}>
            <th className="an-mono">{path || "(value)"}</th>
            <td className="an-mono">
              {compact ? clip(asText(v), 120).text + (asText(v).length > 120 ? "…" : "") : <TruncatedText text={asText(v)} className="an-value" />}
            </td>
          </tr>
        ))}
        {compact && rows.length > COMPACT_ROWS && (
          <tr>
            <td colSpan={2}>
              <button type="button" className="btn btn-link" onClick={() => setAll(!all)}>
                {all ? "fewer" : `${rows.length - COMPACT_ROWS} more`}
              </button>
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

function Change({ row }: { row: AttrRow }) {
  if (row.change === "added") {
    return (
      <ins className="an-add" data-testid="diff-added">
        {asText(row.after)}
      </ins>
    );
  }
  if (row.change === "removed") {
    return (
      <del className="an-del" data-testid="diff-removed">
        {asText(row.before)}
      </del>
    );
  }
  if (row.change === "same") return <span className="muted">{clip(asText(row.after), 2_000).text}</span>;
  return <DiffText before={asText(row.before)} after={asText(row.after)} />;
}

export function AttributeDiff({ before, after }: { before: unknown; after: unknown }) {
  const rows = useMemo(() => attributeDiff(before, after), [before, after]);
  const [showSame, setShowSame] = useState(false);
  const same = rows.filter((r) => r.change === "same").length;
  const shown = showSame ? rows : rows.filter((r) => r.change !== "same");
  return (
    <div data-testid="attribute-diff">
      {shown.length === 0 && <p className="muted an-pad">Same attributes.</p>}
      {shown.length > 0 && (
        <table className="an-attrs an-attr-diff">
          <tbody>
            {shown.map((row) => (
              <tr key={row.path} className={`an-attr-${row.change}`} data-testid="attribute-change" data-change={row.change} data-name={row.path}>
                <th className="an-mono">{row.path}</th>
                <td className="an-change-kind">{row.change}</td>
                <td className="an-mono">
                  <Change row={row} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {same > 0 && (
        <button type="button" className="btn btn-link" onClick={() => setShowSame(!showSame)}>
          {showSame ? "hide" : "show"} {same} unchanged
        </button>
      )}
    </div>
  );
}
