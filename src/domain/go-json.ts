/**
 * Just enough of Go's `encoding/json` to reproduce containers/image byte for byte, in three
 * parts: a parser that keeps what JSON.parse loses (duplicate keys, key order, numbers as
 * written), decoding into Go-shaped values, and marshalling back exactly as `json.Marshal` does.
 */
export { EscapedString, GoTypes, JsonNumber, JsonObject, type GoField, type GoStruct, type GoType, type JsonValue } from './go-json/types.js';
export { MAX_NESTING_DEPTH, parseGoJson } from './go-json/parse.js';
export { goUnmarshal } from './go-json/decode.js';
export { goMarshal, goQuote } from './go-json/encode.js';
