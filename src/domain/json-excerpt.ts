/**
 * A parsed JSON value of unknown shape, written for an error message: compact JSON cut at
 * `limit` characters. Untrusted documents may nest 100,000 levels deep or hold megabytes, and
 * JSON.stringify would recurse through all of it (overflowing the stack) to print a few words,
 * so the value is walked with an explicit stack that stops at the limit.
 */
export function jsonExcerpt(value: unknown, limit = 100): string {
  let out = '';
  // Work left to do, last first: values to write, or text (brackets, commas, keys) already made.
  const pending: ({ readonly text: string } | { readonly value: unknown })[] = [{ value }];
  while (pending.length > 0 && out.length <= limit) {
    const next = pending.pop()!;
    if ('text' in next) {
      out += next.text;
      continue;
    }
    const item = next.value;
    if (Array.isArray(item)) {
      // Each member takes a character at least: more than `limit` of them can never be shown.
      const shown = (item as unknown[]).slice(0, limit + 1);
      pending.push({ text: ']' });
      for (let i = shown.length - 1; i >= 0; i--) pending.push({ value: shown[i] }, { text: i > 0 ? ',' : '' });
      out += '[';
    } else if (typeof item === 'object' && item !== null) {
      const shown = Object.entries(item).slice(0, limit + 1);
      pending.push({ text: '}' });
      for (let i = shown.length - 1; i >= 0; i--) pending.push({ value: shown[i]![1] }, { text: `${i > 0 ? ',' : ''}${JSON.stringify(shown[i]![0])}:` });
      out += '{';
    } else {
      out += JSON.stringify(item) ?? String(item);
    }
  }
  return out.length > limit ? `${out.slice(0, limit)}…` : out;
}
