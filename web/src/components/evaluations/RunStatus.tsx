/** A run's status as a badge: running, finished, failed, or interrupted (stopped reporting). */
import type { EvalRun } from "../../api/types";

const TONE: Record<EvalRun["status"], string> = {
  running: "ev-status-running",
  finished: "ev-status-finished",
  failed: "ev-status-failed",
  interrupted: "ev-status-interrupted",
};

export function RunStatusBadge({ status }: { status: EvalRun["status"] }) {
  return (
    <span className={`badge ${TONE[status] ?? ""}`} data-testid="run-status" data-status={status}>
      {status}
    </span>
  );
}
