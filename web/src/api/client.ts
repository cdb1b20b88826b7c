/** Fetch wrappers for the JSON API: one function per endpoint, typed by the generated
 * `schema.d.ts` (through `types.ts`). */
import type {
  ApiErrorBody,
  CallDetail,
  CallList,
  Comparison,
  DatasetDetail,
  DatasetList,
  DatasetRows,
  DatasetVersion,
  EvalComparison,
  EvalRun,
  EvalRunList,
  EvalRunRows,
  Feedback,
  FeedbackIn,
  ModelList,
  ModelVersionList,
  OpList,
  OpVersionList,
  PromptList,
  PromptVersionList,
  Stats,
  Trace,
} from "./types";

export class ApiError extends Error {
  readonly status: number;
  readonly param: string | null;

  constructor(status: number, message: string, param: string | null = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.param = param;
  }
}

function isErrorBody(value: unknown): value is ApiErrorBody {
  if (typeof value !== "object" || value === null || !("error" in value)) return false;
  const error = (value as { error: unknown }).error;
  return typeof error === "object" && error !== null && "message" in error;
}

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  const resp = await fetch(path, { ...init, headers: { Accept: "application/json", ...init?.headers } });
  const text = await resp.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    if (resp.ok) throw new ApiError(resp.status, `${path}: the answer is not JSON`);
  }
  if (resp.status === 401) {
    // The session ended (signed out elsewhere, expired, the token rotated): sign in again
    // and come back here.
    const here = window.location.pathname + window.location.search;
    window.location.assign(`/signin?next=${encodeURIComponent(here)}`);
  }
  if (!resp.ok) {
    if (isErrorBody(body)) throw new ApiError(resp.status, body.error.message, body.error.param);
    throw new ApiError(resp.status, `${path}: HTTP ${resp.status}`);
  }
  return body as T;
}

function withQuery(path: string, params?: URLSearchParams): string {
  const query = params?.toString();
  return query ? `${path}?${query}` : path;
}

const enc = encodeURIComponent;

export const api = {
  calls: (params: URLSearchParams, signal?: AbortSignal) =>
    request<CallList>(withQuery("/api/calls", params), { signal }),
  call: (id: string, signal?: AbortSignal) => request<CallDetail>(`/api/calls/${enc(id)}`, { signal }),
  trace: (traceId: string, signal?: AbortSignal) =>
    request<Trace>(`/api/traces/${enc(traceId)}`, { signal }),
  addFeedback: (id: string, body: FeedbackIn) =>
    request<Feedback>(`/api/calls/${enc(id)}/feedback`, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "Content-Type": "application/json" },
    }),
  ops: (signal?: AbortSignal) => request<OpList>("/api/ops", { signal }),
  opVersions: (name: string, signal?: AbortSignal) =>
    request<OpVersionList>(`/api/ops/${enc(name)}/versions`, { signal }),
  models: (signal?: AbortSignal) => request<ModelList>("/api/models", { signal }),
  modelVersions: (name: string, signal?: AbortSignal) =>
    request<ModelVersionList>(`/api/models/${enc(name)}/versions`, { signal }),
  prompts: (signal?: AbortSignal) => request<PromptList>("/api/prompts", { signal }),
  promptVersions: (name: string, signal?: AbortSignal) =>
    request<PromptVersionList>(withQuery("/api/prompts/versions", new URLSearchParams({ name })), { signal }),
  stats: (params: URLSearchParams, signal?: AbortSignal) =>
    request<Stats>(withQuery("/api/stats", params), { signal }),
  compare: (ids: string[], signal?: AbortSignal) =>
    request<Comparison>(withQuery("/api/compare", new URLSearchParams({ ids: ids.join(",") })), { signal }),
  datasets: (signal?: AbortSignal) => request<DatasetList>("/api/datasets", { signal }),
  dataset: (name: string, signal?: AbortSignal) =>
    request<DatasetDetail>(`/api/datasets/${enc(name)}`, { signal }),
  datasetRows: (name: string, params: URLSearchParams, signal?: AbortSignal) =>
    request<DatasetRows>(withQuery(`/api/datasets/${enc(name)}/rows`, params), { signal }),
  /** A dataset of the calls matching `filters` (any /api/calls filter), their exact request bodies. */
  datasetFromCalls: (name: string, filters: URLSearchParams, limit: number) =>
    request<DatasetVersion>("/api/datasets/from-calls", {
      method: "POST",
      body: JSON.stringify({ ...Object.fromEntries(filters), name, limit }),
      headers: { "Content-Type": "application/json" },
    }),
  evalRuns: (params: URLSearchParams, signal?: AbortSignal) =>
    request<EvalRunList>(withQuery("/api/evaluations/runs", params), { signal }),
  evalRun: (id: string, signal?: AbortSignal) =>
    request<EvalRun>(`/api/evaluations/runs/${enc(id)}`, { signal }),
  evalRunRows: (id: string, params: URLSearchParams, signal?: AbortSignal) =>
    request<EvalRunRows>(withQuery(`/api/evaluations/runs/${enc(id)}/rows`, params), { signal }),
  evalCompare: (runs: string[], baseline: string, signal?: AbortSignal) =>
    request<EvalComparison>(
      withQuery("/api/evaluations/compare", new URLSearchParams({ runs: runs.join(","), baseline })),
      { signal },
    ),
};
