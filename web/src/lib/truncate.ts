/**
 * Bounded rendering of untrusted, possibly huge values. Nothing here ever builds a string
 * much longer than its budget, so a 5 MB output costs a slice, not a full serialisation.
 */

export const TEXT_LIMIT = 2_000;
export const JSON_BUDGET = 20_000;

export interface Clipped {
  text: string;
  /** How many characters were left out (0: nothing was). */
  hidden: number;
}

export function clip(text: string, limit: number): Clipped {
  if (text.length <= limit) return { text, hidden: 0 };
  // Do not cut a surrogate pair in half.
  let end = limit;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return { text: text.slice(0, end), hidden: text.length - end };
}

/** The next size to show after `shown` characters of a `total`-long text. */
export function nextLimit(shown: number, total: number): number {
  return Math.min(total, Math.max(shown * 10, 20_000));
}

class Budget {
  out: string[] = [];
  used = 0;
  truncated = false;

  constructor(readonly limit: number) {}

  get left(): number {
    return this.limit - this.used;
  }

  push(s: string): boolean {
    if (this.used >= this.limit) {
      this.truncated = true;
      return false;
    }
    this.out.push(s);
    this.used += s.length;
    return true;
  }
}

const MAX_DEPTH = 64;

function writeString(b: Budget, s: string): void {
  const room = Math.max(b.left - 2, 200);
  if (s.length > room) {
    b.truncated = true;
    b.push(`${JSON.stringify(s.slice(0, room))}…(+${(s.length - room).toLocaleString("en-US")} chars)`);
  } else {
    b.push(JSON.stringify(s));
  }
}

function write(b: Budget, value: unknown, indent: string, depth: number): void {
  if (b.used >= b.limit) {
    b.truncated = true;
    return;
  }
  if (value === null || typeof value === "boolean") {
    b.push(String(value));
  } else if (typeof value === "number") {
    b.push(Number.isFinite(value) ? String(value) : "null");
  } else if (typeof value === "string") {
    writeString(b, value);
  } else if (typeof value !== "object") {
    b.push("null");
  } else if (depth >= MAX_DEPTH) {
    b.push(Array.isArray(value) ? "[…]" : "{…}");
    b.truncated = true;
  } else {
    const inner = `${indent}  `;
    const entries: [string | null, unknown][] = Array.isArray(value)
      ? value.map((v): [null, unknown] => [null, v])
      : Object.entries(value as Record<string, unknown>);
    const [open, close] = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
    if (entries.length === 0) {
      b.push(open + close);
      return;
    }
    b.push(`${open}\n`);
    for (let i = 0; i < entries.length; i++) {
      if (b.used >= b.limit) {
        b.truncated = true;
        b.out.push(`${inner}… ${entries.length - i} more\n`);
        break;
      }
      const [key, v] = entries[i] as [string | null, unknown];
      b.push(key === null ? inner : `${inner}${JSON.stringify(key)}: `);
      write(b, v, inner, depth + 1);
      b.push(i < entries.length - 1 ? ",\n" : "\n");
    }
    b.out.push(`${indent}${close}`);
  }
}

/** Pretty JSON (2-space indent) of at most about `limit` characters. */
export function boundedJson(value: unknown, limit: number = JSON_BUDGET): { text: string; truncated: boolean } {
  const b = new Budget(limit);
  write(b, value, "", 0);
  return { text: b.out.join(""), truncated: b.truncated };
}

/** A rough size of a JSON value in characters, stopping once it passes `cap`. */
export function roughSize(value: unknown, cap = Number.POSITIVE_INFINITY): number {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && size <= cap) {
    const v = stack.pop();
    if (typeof v === "string") size += v.length + 2;
    else if (v === null || typeof v !== "object") size += 5;
    else if (Array.isArray(v)) {
      size += 2 + v.length;
      for (const item of v) stack.push(item);
    } else {
      for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
        size += k.length + 4;
        stack.push(item);
      }
    }
  }
  return size;
}
