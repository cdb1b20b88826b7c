/** A JSON value, pretty-printed within a character budget, with "show more" and copy. */
import { useMemo, useState } from "react";
import { boundedJson, JSON_BUDGET } from "../lib/truncate";
import { CopyButton } from "./CopyButton";

export function JsonBlock({
  value,
  budget = JSON_BUDGET,
  copy = true,
  title,
}: {
  value: unknown;
  budget?: number;
  copy?: boolean;
  title?: string;
}) {
  const [limit, setLimit] = useState(budget);
  const view = useMemo(() => boundedJson(value, limit), [value, limit]);
  return (
    <div className="json-block">
      {(title || copy) && (
        <div className="json-head">
          {title && <span className="json-title">{title}</span>}
          {copy && <CopyButton text={() => JSON.stringify(value, null, 2) ?? "null"} label="Copy JSON" />}
        </div>
      )}
      <pre className="json">{view.text}</pre>
      {view.truncated && (
        <div className="more">
          <span className="muted">truncated</span>{" "}
          <button type="button" className="btn btn-link" onClick={() => setLimit(limit * 10)}>
            show more
          </button>
        </div>
      )}
    </div>
  );
}
