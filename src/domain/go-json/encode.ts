import { ProxyError } from '../errors.js';
import { type GoStruct, type GoType } from './types.js';

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
