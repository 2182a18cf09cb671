import { ProxyError } from './errors.js';

/**
 * Just enough of Go's `encoding/json` (Go ≥ 1.22) to reproduce containers/image byte for byte:
 * it decodes documents into Go-shaped values and marshals them back exactly as `json.Marshal`
 * would. JSON.parse cannot be used for this: Go matches object keys to struct fields
 * case-insensitively in document order (so the last of `"os"`/`"OS"` wins), decodes again into
 * values already set by an earlier duplicate key, and replaces invalid UTF-8 byte by byte.
 */

/** A parsed JSON document that keeps duplicate keys, key order and numbers as written. */
export type JsonValue = null | boolean | string | JsonNumber | readonly JsonValue[] | JsonObject;

export class JsonNumber {
  constructor(readonly text: string) {}
}

export class JsonObject {
  constructor(readonly entries: readonly (readonly [string, JsonValue])[]) {}
}

/** The Go types the schemas of manifests and configs are made of. */
export type GoType =
  | { readonly kind: 'string' | 'bool' | 'int' | 'time' | 'any' }
  | { readonly kind: 'slice' | 'map' | 'ptr'; readonly elem: GoType }
  | { readonly kind: 'struct'; readonly fields: readonly GoField[] };

/** A struct field: its JSON key, type and whether the tag says `omitempty`. */
export interface GoField {
  readonly key: string;
  readonly type: GoType;
  readonly omitempty?: boolean;
}

/**
 * How decoded values are represented: string, boolean, number (int), the normalized RFC 3339
 * text or null (time, a `*time.Time`), arrays or null (slices), `Map`s or null (maps), the
 * pointee or null (ptr), plain objects keyed by JSON key (structs), the raw JsonValue (any).
 */
export type GoStruct = Record<string, unknown>;

export const GoTypes = {
  string: { kind: 'string' },
  bool: { kind: 'bool' },
  int: { kind: 'int' },
  time: { kind: 'time' },
  any: { kind: 'any' },
  slice: (elem: GoType): GoType => ({ kind: 'slice', elem }),
  map: (elem: GoType): GoType => ({ kind: 'map', elem }),
  ptr: (elem: GoType): GoType => ({ kind: 'ptr', elem }),
  struct: (...fields: GoField[]): GoType => ({ kind: 'struct', fields }),
} as const;

function invalid(message: string): ProxyError {
  return new ProxyError('manifest-invalid', message);
}

// ---------------------------------------------------------------------------------------------
// Parsing (Go's scanner: RFC 8259, whitespace is space/tab/CR/LF, nesting depth ≤ 10000).

const MAX_DEPTH = 10000;

export function parseGoJson(bytes: Uint8Array): JsonValue {
  const parser = new Parser(bytes);
  try {
    parser.skipSpace();
    const value = parser.value(0);
    parser.skipSpace();
    if (parser.pos !== bytes.length) throw parser.error('after top-level value');
    return value;
  } catch (err) {
    if (err instanceof RangeError) throw invalid('invalid JSON: nested too deeply');
    throw err;
  }
}

class Parser {
  pos = 0;
  constructor(private readonly b: Uint8Array) {}

  error(where: string): ProxyError {
    if (this.pos >= this.b.length) return invalid(`invalid JSON: unexpected end of input ${where}`);
    return invalid(`invalid JSON: unexpected character ${JSON.stringify(String.fromCharCode(this.b[this.pos]!))} at offset ${this.pos} ${where}`);
  }

  skipSpace(): void {
    while (this.pos < this.b.length) {
      const c = this.b[this.pos]!;
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.pos++;
    }
  }

  value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) throw invalid('invalid JSON: nested too deeply');
    const c = this.b[this.pos];
    if (c === 0x7b) return this.object(depth);
    if (c === 0x5b) return this.array(depth);
    if (c === 0x22) return this.string();
    if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) return this.number();
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.literal(word)) return value;
    }
    throw this.error('looking for beginning of value');
  }

  private literal(word: string): boolean {
    for (let i = 0; i < word.length; i++) if (this.b[this.pos + i] !== word.charCodeAt(i)) return false;
    this.pos += word.length;
    return true;
  }

  private object(depth: number): JsonObject {
    const entries: [string, JsonValue][] = [];
    this.pos++;
    this.skipSpace();
    if (this.b[this.pos] === 0x7d) {
      this.pos++;
      return new JsonObject(entries);
    }
    for (;;) {
      if (this.b[this.pos] !== 0x22) throw this.error('looking for beginning of object key string');
      const key = this.string();
      this.skipSpace();
      if (this.b[this.pos] !== 0x3a) throw this.error('after object key');
      this.pos++;
      this.skipSpace();
      entries.push([key, this.value(depth + 1)]);
      this.skipSpace();
      if (this.b[this.pos] === 0x7d) {
        this.pos++;
        return new JsonObject(entries);
      }
      if (this.b[this.pos] !== 0x2c) throw this.error('after object key:value pair');
      this.pos++;
      this.skipSpace();
    }
  }

  private array(depth: number): JsonValue[] {
    const items: JsonValue[] = [];
    this.pos++;
    this.skipSpace();
    if (this.b[this.pos] === 0x5d) {
      this.pos++;
      return items;
    }
    for (;;) {
      items.push(this.value(depth + 1));
      this.skipSpace();
      if (this.b[this.pos] === 0x5d) {
        this.pos++;
        return items;
      }
      if (this.b[this.pos] !== 0x2c) throw this.error('after array element');
      this.pos++;
      this.skipSpace();
    }
  }

  private number(): JsonNumber {
    const match = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(this.ascii(this.pos, Math.min(this.b.length, this.pos + 1024)));
    if (!match || match[0] === '-') throw this.error('in numeric literal');
    this.pos += match[0].length;
    return new JsonNumber(match[0]);
  }

  private ascii(from: number, to: number): string {
    let s = '';
    for (let i = from; i < to && this.b[i]! < 0x80; i++) s += String.fromCharCode(this.b[i]!);
    return s;
  }

  /** Unquotes as Go does: invalid UTF-8 bytes and unpaired surrogate escapes become U+FFFD. */
  private string(): string {
    const codePoints: number[] = [];
    this.pos++;
    for (;;) {
      const c = this.b[this.pos];
      if (c === undefined) throw this.error('in string literal');
      if (c === 0x22) break;
      if (c < 0x20) throw this.error('in string literal');
      if (c === 0x5c) {
        codePoints.push(this.escape());
      } else if (c < 0x80) {
        codePoints.push(c);
        this.pos++;
      } else {
        const [rune, size] = decodeRune(this.b, this.pos);
        codePoints.push(rune);
        this.pos += size;
      }
    }
    this.pos++;
    let text = '';
    for (let i = 0; i < codePoints.length; i += 4096) text += String.fromCodePoint(...codePoints.slice(i, i + 4096));
    return text;
  }

  private escape(): number {
    const simple: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 0x08, 0x66: 0x0c, 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09 };
    const c = this.b[this.pos + 1];
    if (c !== undefined && simple[c] !== undefined) {
      this.pos += 2;
      return simple[c];
    }
    const first = this.hex4(this.pos);
    if (first === undefined) {
      this.pos++;
      throw this.error('in string escape code');
    }
    this.pos += 6;
    if (first < 0xd800 || first > 0xdfff) return first;
    const second = this.hex4(this.pos);
    if (first <= 0xdbff && second !== undefined && second >= 0xdc00 && second <= 0xdfff) {
      this.pos += 6;
      return 0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00);
    }
    return 0xfffd;
  }

  private hex4(at: number): number | undefined {
    if (this.b[at] !== 0x5c || this.b[at + 1] !== 0x75) return undefined;
    const digits = this.ascii(at + 2, at + 6);
    return /^[0-9a-fA-F]{4}$/.test(digits) ? parseInt(digits, 16) : undefined;
  }
}

/** Go's utf8.DecodeRune: the rune and its length, or U+FFFD and 1 for an invalid byte. */
function decodeRune(b: Uint8Array, at: number): [number, number] {
  const c = b[at]!;
  const cont = (i: number, lo = 0x80, hi = 0xbf): number | undefined => {
    const x = b[at + i];
    return x !== undefined && x >= lo && x <= hi ? x & 0x3f : undefined;
  };
  if (c >= 0xc2 && c <= 0xdf) {
    const c1 = cont(1);
    if (c1 !== undefined) return [((c & 0x1f) << 6) | c1, 2];
  } else if (c >= 0xe0 && c <= 0xef) {
    const c1 = cont(1, c === 0xe0 ? 0xa0 : 0x80, c === 0xed ? 0x9f : 0xbf);
    const c2 = c1 === undefined ? undefined : cont(2);
    if (c1 !== undefined && c2 !== undefined) return [((c & 0x0f) << 12) | (c1 << 6) | c2, 3];
  } else if (c >= 0xf0 && c <= 0xf4) {
    const c1 = cont(1, c === 0xf0 ? 0x90 : 0x80, c === 0xf4 ? 0x8f : 0xbf);
    const c2 = c1 === undefined ? undefined : cont(2);
    const c3 = c2 === undefined ? undefined : cont(3);
    if (c1 !== undefined && c2 !== undefined && c3 !== undefined) return [((c & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3, 4];
  }
  return [0xfffd, 1];
}

// ---------------------------------------------------------------------------------------------
// Decoding into Go-shaped values (json.Unmarshal into a struct).

/**
 * Decodes a document as `json.Unmarshal(bytes, &v)` does for a value of type `type`. Any syntax
 * or type error fails the whole decode, as it fails Unmarshal; the error names the field path.
 */
export function goUnmarshal(bytes: Uint8Array, type: GoType): unknown {
  const json = parseGoJson(bytes);
  return decode(type, json, goZero(type), '');
}

/** The zero value of a Go type in this module's representation. */
function goZero(type: GoType): unknown {
  switch (type.kind) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'int':
      return 0;
    case 'struct':
      return Object.fromEntries(type.fields.map((f) => [f.key, goZero(f.type)]));
    default:
      return null;
  }
}

/** Elements a slice held before, beyond its length too: Go decodes into them again (issue 21092). */
const sliceBacking = new WeakMap<readonly unknown[], readonly unknown[]>();

function decode(type: GoType, json: JsonValue, existing: unknown, path: string): unknown {
  if (json === null) {
    // A JSON null zeroes what a nil exists for and leaves everything else untouched.
    return ['slice', 'map', 'ptr', 'time', 'any'].includes(type.kind) ? null : existing;
  }
  const mismatch = (): ProxyError => invalid(`cannot decode ${path || 'document'}: expected ${describeType(type)}, found ${describeJson(json)}`);
  switch (type.kind) {
    case 'any':
      return json;
    case 'string':
      if (typeof json !== 'string') throw mismatch();
      return json;
    case 'bool':
      if (typeof json !== 'boolean') throw mismatch();
      return json;
    case 'int': {
      if (!(json instanceof JsonNumber) || !/^-?\d+$/.test(json.text)) throw mismatch();
      const value = Number(json.text);
      // Go accepts the whole int64 range; sizes beyond 2^53 do not exist, so refuse rather than round.
      if (!Number.isSafeInteger(value)) throw invalid(`cannot decode ${path}: ${json.text} is out of range`);
      return value;
    }
    case 'time':
      if (typeof json !== 'string') throw mismatch();
      return goTimeText(json, path);
    case 'slice': {
      if (!Array.isArray(json)) throw mismatch();
      const previous = existing === null ? [] : (sliceBacking.get(existing as unknown[]) ?? (existing as unknown[]));
      const items = (json as readonly JsonValue[]).map((item, i) =>
        decode(type.elem, item, i < previous.length ? previous[i] : goZero(type.elem), `${path}[${i}]`),
      );
      sliceBacking.set(items, items.length >= previous.length ? items : [...items, ...previous.slice(items.length)]);
      return items;
    }
    case 'ptr':
      return decode(type.elem, json, existing ?? goZero(type.elem), path);
    case 'map': {
      if (!(json instanceof JsonObject)) throw mismatch();
      const map = existing === null ? new Map<string, unknown>() : (existing as Map<string, unknown>);
      for (const [key, value] of json.entries) map.set(key, decode(type.elem, value, goZero(type.elem), `${path}[${JSON.stringify(key)}]`));
      return map;
    }
    case 'struct': {
      if (!(json instanceof JsonObject)) throw mismatch();
      const struct = { ...(existing as GoStruct) };
      for (const [key, value] of json.entries) {
        const field = type.fields.find((f) => f.key === key) ?? type.fields.find((f) => foldKey(f.key) === foldKey(key));
        if (field) struct[field.key] = decode(field.type, value, struct[field.key], path ? `${path}.${field.key}` : field.key);
      }
      return struct;
    }
  }
}

/** Go's case folding of keys: ASCII upper-casing, plus the two non-ASCII letters that fold into ASCII. */
function foldKey(key: string): string {
  return key.replace(/[a-z\u017f\u212a]/g, (c) => (c === '\u017f' ? 'S' : c === '\u212a' ? 'K' : c.toUpperCase()));
}

function describeType(type: GoType): string {
  switch (type.kind) {
    case 'slice':
      return 'an array';
    case 'map':
    case 'struct':
      return 'an object';
    case 'ptr':
      return describeType(type.elem);
    case 'int':
      return 'an integer';
    case 'time':
      return 'an RFC 3339 time string';
    default:
      return `a ${type.kind}`;
  }
}

function describeJson(json: JsonValue): string {
  if (json instanceof JsonNumber) return `number ${json.text}`;
  if (json instanceof JsonObject) return 'an object';
  if (Array.isArray(json)) return 'an array';
  return typeof json;
}

/**
 * Parses an RFC 3339 time as Go's Time.UnmarshalJSON does and returns what Time.MarshalJSON
 * writes back: the same wall clock and offset, nanoseconds truncated to 9 digits with trailing
 * zeros dropped, a zero offset as `Z`. Go also accepts a one-digit hour and a comma before the
 * fraction, and refuses to marshal offsets of 24 hours or more.
 */
function goTimeText(text: string, path: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/.exec(text);
  const bad = (): ProxyError => invalid(`cannot decode ${path}: ${JSON.stringify(text)} is not an RFC 3339 time Go accepts`);
  if (!match) throw bad();
  const [, year, month, day, hour, minute, second, fraction, zulu, sign, offsetHours, offsetMinutes] = match;
  const [y, mo, d, h] = [Number(year), Number(month), Number(day), Number(hour)];
  const daysInMonth = [31, isLeapYear(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1] ?? 0;
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth || h > 23 || Number(minute) > 59 || Number(second) > 59) throw bad();
  let zone = 'Z';
  if (!zulu) {
    const offset = Number(offsetHours) * 60 + Number(offsetMinutes);
    if (Number(offsetMinutes) > 60 || offset >= 24 * 60) throw bad();
    const pad = (n: number): string => String(n).padStart(2, '0');
    if (offset !== 0) zone = `${sign}${pad(Math.floor(offset / 60))}:${pad(offset % 60)}`;
  }
  const nanos = (fraction ?? '').slice(0, 9).replace(/0+$/, '');
  return `${year}-${month}-${day}T${hour!.padStart(2, '0')}:${minute}:${second}${nanos ? `.${nanos}` : ''}${zone}`;
}

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

// ---------------------------------------------------------------------------------------------
// Marshalling (json.Marshal: compact, HTML-safe, map keys sorted by bytes, omitempty).

export function goMarshal(value: unknown, type: GoType): Uint8Array {
  return new TextEncoder().encode(encode(type, value));
}

function encode(type: GoType, value: unknown): string {
  switch (type.kind) {
    case 'string':
      return goQuote(value as string);
    case 'bool':
    case 'int':
      return String(value);
    case 'time':
      return value === null ? 'null' : goQuote(value as string);
    case 'ptr':
      return value === null ? 'null' : encode(type.elem, value);
    case 'slice':
      return value === null ? 'null' : `[${(value as unknown[]).map((item) => encode(type.elem, item)).join(',')}]`;
    case 'map': {
      if (value === null) return 'null';
      const keys = [...(value as Map<string, unknown>).keys()].sort(compareUtf8);
      return `{${keys.map((k) => `${goQuote(k)}:${encode(type.elem, (value as Map<string, unknown>).get(k))}`).join(',')}}`;
    }
    case 'struct': {
      const struct = value as GoStruct;
      const members = type.fields.filter((f) => !(f.omitempty && isEmpty(f.type, struct[f.key])));
      return `{${members.map((f) => `${goQuote(f.key)}:${encode(f.type, struct[f.key])}`).join(',')}}`;
    }
    case 'any':
      throw new ProxyError('internal', 'marshalling an untyped value is not supported');
  }
}

function isEmpty(type: GoType, value: unknown): boolean {
  switch (type.kind) {
    case 'slice':
      return value === null || (value as unknown[]).length === 0;
    case 'map':
      return value === null || (value as Map<string, unknown>).size === 0;
    case 'struct':
      return false;
    case 'ptr':
      return value === null;
    default:
      return value === null || value === '' || value === false || value === 0;
  }
}

/** Go's byte order of UTF-8 strings is code point order, not JavaScript's UTF-16 order. */
function compareUtf8(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

const SHORT_ESCAPES: Readonly<Record<number, string>> = { 0x22: '\\"', 0x5c: '\\\\', 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t' };

/**
 * A string literal as json.Marshal writes it: HTML-safe (`<`, `>`, `&` escaped), U+2028 and
 * U+2029 escaped for JavaScript, other control characters as \u00XX (\b and \f short since Go 1.22).
 */
export function goQuote(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const short = SHORT_ESCAPES[c];
    if (short !== undefined) {
      out += short;
    } else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) {
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    } else if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      out += text[i]! + text[i + 1]!;
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // Cannot come out of parseGoJson; Go writes invalid UTF-8 this way.
      out += '\\ufffd';
    } else {
      out += text[i]!;
    }
  }
  return `${out}"`;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
