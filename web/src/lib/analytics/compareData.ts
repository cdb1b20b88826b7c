/**
 * Loads the calls to compare from `GET /api/compare?ids=`: the records in `ids` order and
 * the server's `{section, path, values, same}` fields.
 */
import { api } from "../../api/client";
import type { CallListItem, CompareField } from "../../api/types";

export interface CompareData {
  calls: CallListItem[];
  fields: CompareField[];
  /** The server listed only the first fields of very large records. */
  truncated: boolean;
}

export async function loadCompare(ids: readonly string[], signal: AbortSignal): Promise<CompareData> {
  const { calls, fields, truncated } = await api.compare([...ids], signal);
  return { calls, fields, truncated };
}
