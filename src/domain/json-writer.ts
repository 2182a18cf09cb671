/**
 * Writes parsed JSON values of unknown shape. Untrusted documents may nest 100,000 levels deep
 * or hold megabytes, and JSON.stringify (like any recursive writer) recurses through all of it
 * and overflows the stack; this walks the value with an explicit stack instead.
 */
export interface JsonWriting {
  /** Stop after this many characters, marking the cut with `…`. */
  readonly limit?: number;
  /** Object keys in UTF-16 code unit order, as RFC 8785 canonical JSON wants them. */
  readonly sortKeys?: boolean;
}

/** Compact JSON, as JSON.stringify writes it, for values that came out of JSON.parse. */
export function writeJson(value: unknown, { limit = Number.POSITIVE_INFINITY, sortKeys = false }: JsonWriting = {}): string {
  let out = '';
  // Work left to do, last first: values to write, or text (brackets, commas, keys) already made.
  const pending: ({ readonly text: string } | { readonly value: unknown })[] = [{ value }];
  // Each member takes a character at least: beyond the limit, members can never be shown.
  const most = Number.isFinite(limit) ? limit + 1 : undefined;
  while (pending.length > 0 && out.length <= limit) {
    const next = pending.pop()!;
    if ('text' in next) {
      out += next.text;
      continue;
    }
    const item = next.value;
    if (Array.isArray(item)) {
      const shown = (item as unknown[]).slice(0, most);
      pending.push({ text: ']' });
      for (let i = shown.length - 1; i >= 0; i--) pending.push({ value: shown[i] }, { text: i > 0 ? ',' : '' });
      out += '[';
    } else if (typeof item === 'object' && item !== null) {
      const keys = Object.keys(item);
      const shown = (sortKeys ? keys.sort() : keys).slice(0, most);
      pending.push({ text: '}' });
      for (let i = shown.length - 1; i >= 0; i--) {
        const key = shown[i]!;
        pending.push({ value: (item as Record<string, unknown>)[key] }, { text: `${i > 0 ? ',' : ''}${JSON.stringify(key)}:` });
      }
      out += '{';
    } else {
      out += JSON.stringify(item) ?? String(item);
    }
  }
  return out.length > limit ? `${out.slice(0, limit)}…` : out;
}

/** A value for an error message: compact JSON cut at `limit` characters. */
export function jsonExcerpt(value: unknown, limit = 100): string {
  return writeJson(value, { limit });
}
