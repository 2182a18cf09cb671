import { type ProxyError } from '../errors.js';
import { EscapedString, type GoStruct, type GoType, invalid, JsonNumber, JsonObject, type JsonValue } from './types.js';
import { parseGoJson } from './parse.js';

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

/** Elements a slice held before, beyond its length too: Go decodes into them again (golang/go#21092). */
const sliceBacking = new WeakMap<readonly unknown[], readonly unknown[]>();

function decode(type: GoType, json: JsonValue, existing: unknown, path: string): unknown {
  if (json === null) {
    // A JSON null zeroes what a nil exists for and leaves everything else untouched.
    return ['slice', 'map', 'ptr', 'time', 'any'].includes(type.kind) ? null : existing;
  }
  const mismatch = (): ProxyError => invalid(`cannot decode ${path || 'document'}: expected ${describeType(type)}, found ${describeJson(json)}`);
  switch (type.kind) {
    case 'any':
      // Only time.Time reads a literal's raw bytes; into interface{} (and every string type) Go unescapes.
      return unescaped(json);
    case 'string':
      if (json instanceof EscapedString) return json.text;
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
      // Time.UnmarshalJSON parses the literal's raw bytes, where no escape can be part of a time.
      if (json instanceof EscapedString)
        throw invalid(`cannot decode ${path}: ${JSON.stringify(json.text)} is written with escapes, which Go does not decode in a time`);
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

/**
 * The JsonValue with every string literal as its text, as Go decodes it into interface{}. The
 * tree is fresh from the parser and walked with an explicit stack (it may nest 10000 deep), so
 * its strings are replaced in place.
 */
function unescaped(json: JsonValue): JsonValue {
  if (json instanceof EscapedString) return json.text;
  const pending: JsonValue[] = [json];
  for (let node = pending.pop(); node !== undefined; node = pending.pop()) {
    if (Array.isArray(node)) {
      const items = node as JsonValue[];
      for (const [i, item] of items.entries()) {
        if (item instanceof EscapedString) items[i] = item.text;
        else pending.push(item);
      }
    } else if (node instanceof JsonObject) {
      const entries = node.entries as (readonly [string, JsonValue])[];
      for (const [i, [key, value]] of entries.entries()) {
        if (value instanceof EscapedString) entries[i] = [key, value.text];
        else pending.push(value);
      }
    }
  }
  return json;
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
  if (json instanceof EscapedString) return 'string';
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
