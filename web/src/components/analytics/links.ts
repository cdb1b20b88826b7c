/** Links into the core pages (call detail, the traces table filtered by the URL). */
const enc = encodeURIComponent;

export function callHref(id: string): string {
  return `/calls/${enc(id)}`;
}

/** The traces table showing one op version's calls (it reads its filters from the URL). */
export function opCallsHref(opName: string, digest?: string): string {
  const q = new URLSearchParams({ op_name: opName });
  if (digest) q.set("op_version", digest);
  return `/?${q.toString()}`;
}

export function compareHref(ids: readonly string[]): string {
  return `/compare?ids=${ids.map(enc).join(",")}`;
}
