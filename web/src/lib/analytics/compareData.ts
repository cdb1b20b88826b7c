/**
 * Loads the calls to compare: `GET /api/compare?ids=` when the server has it, else each
 * `GET /api/calls/{id}` with the structured diff computed here. Whatever the source, the
 * page gets records in `ids` order and `{section, path, values, same}` fields.
 */
import { api, ApiError } from "../../api/client";
import type { CallDetail } from "../../api/types";
import { isObj } from "../chat";
import { compareRecords, SECTIONS, type CompareField, type Section } from "./fields";

export interface CompareData {
  calls: CallDetail[];
  fields: CompareField[];
  /** Where the fields came from: the server's compare endpoint, or computed in the page. */
  source: "server" | "client";
  /** The server listed only the first fields of very large records. */
  truncated: boolean;
}

function isRecord(v: unknown): v is CallDetail {
  return isObj(v) && typeof v.id === "string";
}

/** The server's fields, when they have the documented shape (else null: compute them). */
export function serverFields(body: unknown, count: number): CompareField[] | null {
  if (!isObj(body) || !Array.isArray(body.fields)) return null;
  const known = new Set<string>(SECTIONS);
  const out: CompareField[] = [];
  for (const f of body.fields) {
    if (!isObj(f) || typeof f.path !== "string" || !Array.isArray(f.values) || f.values.length !== count) return null;
    const section = typeof f.section === "string" && known.has(f.section) ? (f.section as Section) : "output";
    out.push({ section, path: f.path, values: f.values, same: f.same === true });
  }
  return out;
}

export async function loadCompare(ids: readonly string[], signal: AbortSignal): Promise<CompareData> {
  try {
    const body: unknown = await api.compare([...ids], signal);
    if (isObj(body) && Array.isArray(body.calls) && body.calls.length === ids.length && body.calls.every(isRecord)) {
      const calls = body.calls as CallDetail[];
      const fields = serverFields(body, calls.length);
      const truncated = body.truncated === true;
      return fields
        ? { calls, fields, source: "server", truncated }
        : { calls, fields: compareRecords(calls), source: "client", truncated: false };
    }
  } catch (err) {
    // 404/405: a server without the compare endpoint (or a missing call, which the
    // per-call requests below report by id). Anything else is a real failure.
    if (!(err instanceof ApiError) || (err.status !== 404 && err.status !== 405)) throw err;
  }
  const calls = await Promise.all(ids.map((id) => api.call(id, signal)));
  return { calls, fields: compareRecords(calls), source: "client", truncated: false };
}
