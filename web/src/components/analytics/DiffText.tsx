/**
 * A word/line diff of two texts, rendered as React text (never as HTML): removed parts
 * struck through, added parts highlighted. Only `limit` characters are put in the DOM until
 * the user asks for more.
 */
import { useMemo, useState } from "react";
import { diffText, type Segment } from "../../lib/analytics/textdiff";
import { clip, nextLimit, TEXT_LIMIT } from "../../lib/truncate";
import { fmtInt } from "../../lib/format";

function visible(segments: readonly Segment[], limit: number): { shown: Segment[]; hidden: number } {
  const shown: Segment[] = [];
  let used = 0;
  let hidden = 0;
  for (const s of segments) {
    if (used >= limit) {
      hidden += s.text.length;
      continue;
    }
    const c = clip(s.text, limit - used);
    shown.push({ kind: s.kind, text: c.text });
    used += c.text.length;
    hidden += c.hidden;
  }
  return { shown, hidden };
}

export function DiffSegments({ segments, limit = TEXT_LIMIT }: { segments: readonly Segment[]; limit?: number }) {
  const total = useMemo(() => segments.reduce((n, s) => n + s.text.length, 0), [segments]);
  const [shownLimit, setShownLimit] = useState(limit);
  const { shown, hidden } = visible(segments, shownLimit);
  return (
    <div className="an-difftext">
      {shown.map((s, i) =>
        s.kind === "added" ? (
          <ins key={i} className="an-add" data-testid="diff-added">
            {s.text}
          </ins>
        ) : s.kind === "removed" ? (
          <del key={i} className="an-del" data-testid="diff-removed">
            {s.text}
          </del>
        ) : (
          <span key={i}>{s.text}</span>
        ),
      )}
      {hidden > 0 && (
        <div className="more">
          <span className="muted">… {fmtInt(hidden)} more characters</span>{" "}
          <button type="button" className="btn btn-link" onClick={() => setShownLimit(nextLimit(shownLimit, total))}>
            show more
          </button>
        </div>
      )}
    </div>
  );
}

/** How `after` differs from `before`. */
export function DiffText({ before, after, limit }: { before: string; after: string; limit?: number }) {
  const diff = useMemo(() => diffText(before, after), [before, after]);
  return (
    <>
      <DiffSegments segments={diff.segments} limit={limit} />
      {diff.mode === "whole" && <div className="muted an-note">too large to diff word by word: shown replaced whole</div>}
    </>
  );
}
