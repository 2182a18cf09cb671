/**
 * Inputs that look almost right: valid examples mutated (characters inserted, deleted,
 * duplicated, truncated), JSON values with a subtree replaced by something hostile (deep nesting,
 * huge numbers, odd unicode, NUL bytes, the wrong type), and raw bytes that are not UTF-8.
 * Random strings alone rarely get past a parser's first check; these reach its inner branches.
 */
import fc from 'fast-check';

/** Characters that parsers of names, headers and documents treat specially, or mishandle. */
export const oddChar = fc.constantFrom(
  '\u0000',
  '\u0001',
  '\u001f',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u2028',
  '\u2029',
  '\u202e',
  '\ufeff',
  '\uffff',
  '\ufffd',
  '\ud800',
  '\udfff',
  '😀',
  'İ',
  'ı',
  'ſ',
  'K',
  'ﬀ',
  '١',
  '０',
  '\\',
  '"',
  "'",
  '\n',
  '\r',
  '\t',
  ' ',
  '%',
  '@',
  ':',
  '/',
  '[',
  ']',
  '{',
  '}',
  ',',
  '=',
  '.',
  '*',
  '#',
  '?',
  '&',
  ';',
  '+',
  '-',
  '_',
  '~',
  '$',
  '<',
  '>',
  '|',
  '`',
  '^',
);

/** Short strings mixing odd characters with ordinary ones. */
export const oddString = fc.string({ unit: fc.oneof(oddChar, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 24 });

/** Numbers beyond what float64, int64 or safe integers hold, and spellings JSON.parse or Go treat apart. */
export const hugeNumberText = fc.constantFrom(
  '1e999',
  '-1e999',
  '1E+400',
  '4e-400',
  '-0',
  '0.0',
  '9007199254740993',
  '-9007199254740993',
  '18446744073709551616',
  '-9223372036854775809',
  '123456789012345678901234567890123456789',
  '1.7976931348623157e309',
  '0.1e1',
  '1e-7',
);

/** Containers opened `levels` deep (JSON arrays, objects, both, or YAML/TOML flow style), closed or cut short. */
export const deepText = fc
  .record({ levels: fc.integer({ min: 1, max: 12_000 }), shape: fc.constantFrom('[', '{"a":', '[{"a":', 'a:\n '), closed: fc.boolean() })
  .map(({ levels, shape, closed }) => {
    const open = shape.repeat(levels);
    if (!closed) return open;
    const close = shape === '[' ? ']' : shape === '{"a":' ? '}' : shape === '[{"a":' ? '}]' : '';
    return `${open}1${close.repeat(levels)}`;
  });

/** Text that could stand in for any value: odd, huge, deep, or a token of the format. */
export const hostileFragment = fc.oneof(
  { weight: 3, arbitrary: oddString },
  { weight: 2, arbitrary: hugeNumberText },
  { weight: 1, arbitrary: deepText },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'null',
      'true',
      '[]',
      '{}',
      '""',
      '"',
      ',',
      ':',
      '[[',
      '{{',
      '\\u0000',
      '\\ud800',
      '=',
      '[[registry]]',
      '---',
      '&a',
      '*a',
      '!!binary',
      '<<: *a',
    ),
  },
);

type Mutation =
  | { readonly kind: 'insert'; readonly at: number; readonly text: string }
  | { readonly kind: 'delete' | 'duplicate'; readonly at: number; readonly length: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'replace'; readonly at: number; readonly text: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: hostileFragment }),
  fc.record({ kind: fc.constantFrom('delete' as const, 'duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: oddChar }),
);

function applyMutation(text: string, m: Mutation): string {
  const at = text.length === 0 ? 0 : m.at % (text.length + 1);
  switch (m.kind) {
    case 'insert':
      return text.slice(0, at) + m.text + text.slice(at);
    case 'delete':
      return text.slice(0, at) + text.slice(at + m.length);
    case 'duplicate':
      return text.slice(0, at + m.length) + text.slice(at, at + m.length) + text.slice(at + m.length);
    case 'truncate':
      return text.slice(0, at);
    case 'replace':
      return text.slice(0, at) + m.text + text.slice(at + 1);
  }
}

/** One of `examples`, unchanged now and then, otherwise mutated one to four times. */
export function mutatedText(examples: readonly string[]): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...examples), fc.array(mutation, { minLength: 0, maxLength: 4 }))
    .map(([example, mutations]) => mutations.reduce(applyMutation, example));
}

/** Marks where deep text goes, since JSON.stringify itself cannot write 12000 levels. */
const DEEP_MARKER = '\u0000deep\u0000';

const hostileJsonValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: oddString },
  { weight: 1, arbitrary: fc.constantFrom(-1, 0, 1.5, -0, 2 ** 53 + 2, -(2 ** 63), 1e308, Number.MAX_SAFE_INTEGER) },
  { weight: 1, arbitrary: fc.constant(DEEP_MARKER) },
);

type JsonPath = readonly (string | number)[];

function pathsOf(value: unknown, path: JsonPath = [], into: JsonPath[] = []): JsonPath[] {
  into.push(path);
  if (Array.isArray(value)) value.forEach((item, i) => pathsOf(item, [...path, i], into));
  else if (typeof value === 'object' && value !== null) for (const [key, item] of Object.entries(value)) pathsOf(item, [...path, key], into);
  return into;
}

function replaceAt(value: unknown, path: JsonPath, replacement: unknown, removeKey: boolean): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path;
  if (Array.isArray(value)) return value.map((item, i) => (i === head ? replaceAt(item, rest, replacement, removeKey) : item));
  const entries = Object.entries(value as Record<string, unknown>).flatMap(([key, item]) =>
    key !== head ? [[key, item]] : removeKey && rest.length === 0 ? [] : [[key, replaceAt(item, rest, replacement, removeKey)]],
  );
  return Object.fromEntries(entries);
}

/**
 * JSON documents made from `examples` (JSON values): one to three of their nodes replaced by a
 * hostile value or removed, then written out, the deep marker becoming 1 to 12000 levels.
 */
export function mutatedJson(examples: readonly unknown[]): fc.Arbitrary<string> {
  const edit = fc.record({ pick: fc.nat(), replacement: hostileJsonValue, remove: fc.boolean() });
  return fc.tuple(fc.constantFrom(...examples), fc.array(edit, { minLength: 1, maxLength: 3 }), deepText).map(([example, edits, deep]) => {
    const edited = edits.reduce((value, { pick, replacement, remove }) => {
      const paths = pathsOf(value);
      return replaceAt(value, paths[pick % paths.length]!, replacement, remove);
    }, example);
    return JSON.stringify(edited).replaceAll(JSON.stringify(DEEP_MARKER), deep);
  });
}

/** Structured mutations, text mutations of those, and text mutations of the examples as written. */
export function hostileJsonText(examples: readonly unknown[]): fc.Arbitrary<string> {
  const written = examples.flatMap((example) => [JSON.stringify(example), JSON.stringify(example, null, 2)]);
  return fc.oneof(
    mutatedJson(examples),
    mutatedText(written),
    mutatedJson(examples).chain((text) => mutatedText([text])),
  );
}

/** UTF-8 of hostile text, sometimes with raw bytes (invalid UTF-8, NUL) spliced in. */
export function hostileBytes(text: fc.Arbitrary<string>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(text, fc.nat(), fc.uint8Array({ maxLength: 8 })).map(([value, at, raw]) => {
    const bytes = Buffer.from(value, 'utf8');
    const cut = bytes.length === 0 ? 0 : at % (bytes.length + 1);
    return new Uint8Array(Buffer.concat([bytes.subarray(0, cut), raw, bytes.subarray(cut)]));
  });
}

type ByteMutation =
  { readonly kind: 'overwrite' | 'insert'; readonly at: number; readonly bytes: Uint8Array } | { readonly kind: 'truncate'; readonly at: number };

/** Bytes that tar headers and compression frames give meaning to: octal digits, base-256 markers, huge sizes, pax records. */
const meaningfulBytes = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 16 }),
  fc
    .constantFrom(
      '77777777777\0',
      '00000001000\0',
      '\u0080\u0000\u0000\u0000\u00ff\u00ff\u00ff\u00ff',
      '-1\0',
      'ustar\0',
      '30 path=../../etc/passwd\n',
      'x',
      'L',
      'K',
      '2',
      '5',
      '\u001f\u008b\b',
      '(\u00b5/\u00fd',
    )
    .map((text) => Uint8Array.from(text, (c) => c.charCodeAt(0))),
);

const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ kind: fc.constantFrom('overwrite' as const, 'insert' as const), at: fc.nat(), bytes: meaningfulBytes }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function applyByteMutation(bytes: Uint8Array, m: ByteMutation): Uint8Array {
  const at = bytes.length === 0 ? 0 : m.at % (bytes.length + 1);
  switch (m.kind) {
    case 'overwrite': {
      const out = Uint8Array.from(bytes);
      out.set(m.bytes.subarray(0, Math.max(0, out.length - at)), at);
      return out;
    }
    case 'insert':
      return new Uint8Array(Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]));
    case 'truncate':
      return bytes.subarray(0, at);
  }
}

/** One of `examples` (binary files such as tar archives) mutated one to six times. */
export function mutatedBytes(examples: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.constantFrom(...examples), fc.array(byteMutation, { minLength: 1, maxLength: 6 }))
    .map(([example, mutations]) => mutations.reduce(applyByteMutation, example));
}
