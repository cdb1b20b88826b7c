/**
 * Untrusted text, shown as text and clipped: only `limit` characters are put in the DOM
 * until the user asks for more, so a multi-megabyte value never freezes the page.
 */
import { useState } from "react";
import { clip, nextLimit, TEXT_LIMIT } from "../lib/truncate";
import { fmtInt } from "../lib/format";

export function TruncatedText({
  text,
  limit = TEXT_LIMIT,
  className = "text",
}: {
  text: string;
  limit?: number;
  className?: string;
}) {
  const [shown, setShown] = useState(limit);
  const clipped = clip(text, shown);
  return (
    <div className={className}>
      {clipped.text}
      {clipped.hidden > 0 && (
        <div className="more">
          <span className="muted">… {fmtInt(clipped.hidden)} more characters</span>{" "}
          <button type="button" className="btn btn-link" onClick={() => setShown(nextLimit(shown, text.length))}>
            show more
          </button>
          {clipped.hidden > 20_000 && (
            <button type="button" className="btn btn-link" onClick={() => setShown(text.length)}>
              show all
            </button>
          )}
        </div>
      )}
    </div>
  );
}
