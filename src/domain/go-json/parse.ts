import { type ProxyError } from '../errors.js';
import { EscapedString, invalid, JsonNumber, JsonObject, type JsonValue } from './types.js';

// ---------------------------------------------------------------------------------------------
// Parsing (Go's scanner: RFC 8259, whitespace is space/tab/CR/LF, at most 10000 open containers).

/**
 * Go's scanner refuses the `[` or `{` that would make 10001 containers open at once
 * (maxNestingDepth): 10000 levels parse. Containers are kept on an explicit stack, so that depth
 * costs heap, never JavaScript stack.
 */
export const MAX_NESTING_DEPTH = 10000;

/** An array still open, with the elements it has so far. */
class OpenArray {
  readonly items: JsonValue[] = [];
}

/** An object still open: its entries so far and the key whose value comes next. */
class OpenObject {
  readonly entries: [string, JsonValue][] = [];
  key = '';
}

type Open = OpenArray | OpenObject;

function closed(container: Open): JsonValue {
  return container instanceof OpenArray ? container.items : new JsonObject(container.entries);
}

export function parseGoJson(bytes: Uint8Array): JsonValue {
  const parser = new Parser(bytes);
  parser.skipSpace();
  const value = parser.document();
  parser.skipSpace();
  if (parser.pos !== bytes.length) throw parser.error('after top-level value');
  return value;
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

  /** One value and everything nested in it, without recursion. */
  document(): JsonValue {
    const open: Open[] = [];
    for (;;) {
      let value: JsonValue | Open = this.valueOrOpen(open.length);
      // A container that opens, closed at once when empty, else filled from its first member.
      if (value instanceof OpenArray || value instanceof OpenObject) {
        if (!this.closeEmpty(value)) {
          open.push(value);
          if (value instanceof OpenObject) value.key = this.key();
          this.skipSpace();
          continue;
        }
        value = closed(value);
      }
      // Hand the value to the innermost open container; close containers while they end.
      for (;;) {
        const top = open.at(-1);
        if (top === undefined) return value;
        if (top instanceof OpenArray) top.items.push(value);
        else top.entries.push([top.key, value]);
        this.skipSpace();
        const end = top instanceof OpenArray ? 0x5d : 0x7d;
        if (this.b[this.pos] === end) {
          this.pos++;
          open.pop();
          value = closed(top);
          continue;
        }
        if (this.b[this.pos] !== 0x2c) throw this.error(top instanceof OpenArray ? 'after array element' : 'after object key:value pair');
        this.pos++;
        this.skipSpace();
        if (top instanceof OpenObject) {
          top.key = this.key();
          this.skipSpace();
        }
        break;
      }
    }
  }

  /** A scalar, or the container that starts here (its opening bracket consumed). */
  private valueOrOpen(depth: number): JsonValue | Open {
    const c = this.b[this.pos];
    if (c === 0x7b || c === 0x5b) {
      if (depth >= MAX_NESTING_DEPTH)
        throw invalid(`invalid JSON: ${String.fromCharCode(c)} at offset ${this.pos} exceeds the maximum nesting depth of ${MAX_NESTING_DEPTH}`);
      this.pos++;
      this.skipSpace();
      return c === 0x5b ? new OpenArray() : new OpenObject();
    }
    if (c === 0x22) return this.string();
    if (c === 0x2d || isDigit(c)) return this.number();
    for (const [word, value] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.literal(word)) return value;
    }
    throw this.error('looking for beginning of value');
  }

  /** Consumes the closing bracket of a container with no members. */
  private closeEmpty(container: Open): boolean {
    if (this.b[this.pos] !== (container instanceof OpenArray ? 0x5d : 0x7d)) return false;
    this.pos++;
    return true;
  }

  /** An object key and its colon. */
  private key(): string {
    if (this.b[this.pos] !== 0x22) throw this.error('looking for beginning of object key string');
    const key = this.string();
    this.skipSpace();
    if (this.b[this.pos] !== 0x3a) throw this.error('after object key');
    this.pos++;
    this.skipSpace();
    return typeof key === 'string' ? key : key.text;
  }

  private literal(word: string): boolean {
    for (let i = 0; i < word.length; i++) if (this.b[this.pos + i] !== word.charCodeAt(i)) return false;
    this.pos += word.length;
    return true;
  }

  /** Scans the number grammar byte by byte, as Go's scanner does: a literal has no length limit. */
  private number(): JsonNumber {
    const start = this.pos;
    if (this.b[this.pos] === 0x2d) this.pos++;
    if (this.b[this.pos] === 0x30) this.pos++;
    else this.digits();
    if (this.b[this.pos] === 0x2e) {
      this.pos++;
      this.digits();
    }
    if (this.b[this.pos] === 0x65 || this.b[this.pos] === 0x45) {
      this.pos++;
      if (this.b[this.pos] === 0x2b || this.b[this.pos] === 0x2d) this.pos++;
      this.digits();
    }
    return new JsonNumber(this.ascii(start, this.pos));
  }

  /** One or more decimal digits. */
  private digits(): void {
    if (!isDigit(this.b[this.pos])) throw this.error('in numeric literal');
    while (isDigit(this.b[this.pos])) this.pos++;
  }

  private ascii(from: number, to: number): string {
    let s = '';
    for (let i = from; i < to && this.b[i]! < 0x80; i++) s += String.fromCharCode(this.b[i]!);
    return s;
  }

  /**
   * Unquotes as Go does: invalid UTF-8 bytes and unpaired surrogate escapes become U+FFFD. A
   * literal written with escapes comes back as an EscapedString.
   */
  private string(): string | EscapedString {
    const codePoints: number[] = [];
    let escaped = false;
    this.pos++;
    for (;;) {
      const c = this.b[this.pos];
      if (c === undefined) throw this.error('in string literal');
      if (c === 0x22) break;
      if (c < 0x20) throw this.error('in string literal');
      if (c === 0x5c) {
        escaped = true;
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
    return escaped ? new EscapedString(text) : text;
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

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;

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
