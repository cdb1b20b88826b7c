import type { Status } from "../api/types";

export function StatusBadge({ status, http }: { status: Status; http?: number | null }) {
  return (
    <span className={`badge status-${status}`} title={http ? `HTTP ${http}` : undefined}>
      {status}
      {http && status === "error" ? ` ${http}` : ""}
    </span>
  );
}

export function ErrorBox({ error }: { error: Error }) {
  return (
    <div className="error-box" role="alert">
      {error.message}
    </div>
  );
}

export function Loading({ what = "Loading" }: { what?: string }) {
  return <div className="loading muted">{what}…</div>;
}
