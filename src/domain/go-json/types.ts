import { ProxyError } from '../errors.js';

/**
 * Just enough of Go's `encoding/json` (Go ≥ 1.22) to reproduce containers/image byte for byte:
 * it decodes documents into Go-shaped values and marshals them back exactly as `json.Marshal`
 * would. JSON.parse cannot be used for this: Go matches object keys to struct fields
 * case-insensitively in document order (so the last of `"os"`/`"OS"` wins), decodes again into
 * values already set by an earlier duplicate key, and replaces invalid UTF-8 byte by byte.
 */

/**
 * A parsed JSON document that keeps duplicate keys, key order, numbers as written and which
 * string values were written with escapes.
 */
export type JsonValue = null | boolean | string | EscapedString | JsonNumber | readonly JsonValue[] | JsonObject;

/**
 * A string value whose literal contains a backslash escape. Go hands some decoders the literal's
 * raw bytes instead of its text (time.Time parses them without unescaping, so an escaped time
 * is refused), which is what this keeps apart from plain strings.
 */
export class EscapedString {
  constructor(readonly text: string) {}
}

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

/** Every malformed document is a manifest-invalid error. */
export function invalid(message: string): ProxyError {
  return new ProxyError('manifest-invalid', message);
}
