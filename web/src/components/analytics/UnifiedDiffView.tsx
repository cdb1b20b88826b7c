/**
 * A unified line diff (source code, templates, attributes as JSON): hunks with old and new
 * line numbers, added lines green with `+`, removed lines red with `-`. Text only.
 */
import { useMemo, useState } from "react";
import { unifiedDiff, type DiffLine } from "../../lib/analytics/textdiff";
import { fmtInt } from "../../lib/format";

const LINE_BUDGET = 1_500;
const LINE_CHARS = 2_000;

function Line({ line }: { line: DiffLine }) {
  const mark = line.kind === "added" ? "+" : line.kind === "removed" ? "-" : line.kind === "note" ? "\\" : " ";
  const testid = line.kind === "added" ? "diff-added" : line.kind === "removed" ? "diff-removed" : undefined;
  const text = line.text.length > LINE_CHARS ? `${line.text.slice(0, LINE_CHARS)}… (+${fmtInt(line.text.length - LINE_CHARS)} chars)` : line.text;
  return (
    <tr className={`an-line an-line-${line.kind}`} data-testid={testid}>
      <td className="an-ln">{line.oldNo ?? ""}</td>
      <td className="an-ln">{line.newNo ?? ""}</td>
      <td className="an-mark">{mark}</td>
      <td className="an-code">{text}</td>
    </tr>
  );
}

export function UnifiedDiffView({
  before,
  after,
  beforeLabel,
  afterLabel,
  context = 3,
}: {
  before: string;
  after: string;
  beforeLabel: string;
  afterLabel: string;
  context?: number;
}) {
  const diff = useMemo(() => unifiedDiff(before, after, context), [before, after, context]);
  const [budget, setBudget] = useState(LINE_BUDGET);
  let left = budget;
  let cut = 0;
  const hunks = diff.hunks.map((h) => {
    const lines = h.lines.slice(0, Math.max(left, 0));
    cut += h.lines.length - lines.length;
    left -= lines.length;
    return { header: h.header, lines };
  });
  return (
    <div className="an-udiff" data-testid="version-diff">
      <div className="an-udiff-head">
        <span className="an-del-label">--- {beforeLabel}</span>
        <span className="an-add-label">+++ {afterLabel}</span>
        <span className="an-udiff-stats" data-testid="version-diff-stats">
          <span className="an-plus">+{fmtInt(diff.added)}</span> <span className="an-minus">-{fmtInt(diff.removed)}</span>
        </span>
      </div>
      {diff.hunks.length === 0 && !diff.gaveUp && (
        <div className="muted an-pad" data-testid="version-diff-same">
          No differences.
        </div>
      )}
      {diff.gaveUp && <div className="muted an-pad">Too large to diff line by line.</div>}
      {hunks.length > 0 && (
        <table className="an-udiff-table">
          {hunks.map((h, i) =>
            h.lines.length === 0 ? null : (
              <tbody key={i}>
                <tr className="an-hunk">
                  <td colSpan={4}>{h.header}</td>
                </tr>
                {h.lines.map((line, j) => (
                  <Line key={j} line={line} />
                ))}
              </tbody>
            ),
          )}
        </table>
      )}
      {cut > 0 && (
        <div className="more an-pad">
          <span className="muted">… {fmtInt(cut)} more lines</span>{" "}
          <button type="button" className="btn btn-link" onClick={() => setBudget(budget * 10)}>
            show more
          </button>
        </div>
      )}
    </div>
  );
}
