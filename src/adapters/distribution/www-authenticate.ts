/** One authentication challenge from a `WWW-Authenticate` header. */
export interface Challenge {
  /** Lower-cased scheme, e.g. `bearer`, `basic`. */
  readonly scheme: string;
  /** Parameters with lower-cased keys and unquoted, unescaped values. */
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/** A cursor over one header value; the grammar is RFC 7235 challenges with RFC 7230 quoting. */
class Scanner {
  private index = 0;
  constructor(private readonly text: string) {}

  get done(): boolean {
    return this.index >= this.text.length;
  }

  peek(): string | undefined {
    return this.text[this.index];
  }

  skipSpaces(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.index++;
  }

  skipSeparators(): void {
    while (this.peek() === ',' || this.peek() === ' ' || this.peek() === '\t') this.index++;
  }

  token(): string {
    const start = this.index;
    while (!this.done && TOKEN_CHAR.test(this.text[this.index]!)) this.index++;
    return this.text.slice(start, this.index);
  }

  /** A token, or a quoted string with backslash escapes honoured. */
  value(): string {
    if (this.peek() !== '"') return this.token();
    this.index++;
    let out = '';
    while (!this.done) {
      const ch = this.text[this.index++]!;
      if (ch === '"') return out;
      if (ch === '\\' && !this.done) out += this.text[this.index++]!;
      else out += ch;
    }
    return out;
  }

  /** Whether the text ahead is `token =` (a parameter) rather than the scheme of the next challenge. */
  atParameter(): boolean {
    const saved = this.index;
    const key = this.token();
    this.skipSpaces();
    const isParam = key !== '' && this.peek() === '=';
    this.index = saved;
    return isParam;
  }

  consume(ch: string): boolean {
    if (this.peek() !== ch) return false;
    this.index++;
    return true;
  }
}

function parseHeaderValue(value: string, into: Challenge[]): void {
  const scanner = new Scanner(value);
  for (;;) {
    scanner.skipSeparators();
    if (scanner.done) return;
    const scheme = scanner.token().toLowerCase();
    if (scheme === '') return; // garbage: keep what parsed so far, as Go's parser does
    const params: Record<string, string> = {};
    for (;;) {
      scanner.skipSeparators();
      if (scanner.done || !scanner.atParameter()) break;
      const key = scanner.token().toLowerCase();
      scanner.skipSpaces();
      scanner.consume('=');
      scanner.skipSpaces();
      params[key] = scanner.value();
    }
    into.push({ scheme, params });
  }
}

/** Parses every challenge of every `WWW-Authenticate` header line, in order. */
export function parseChallenges(headerValues: string | readonly string[] | undefined): Challenge[] {
  const lines = headerValues === undefined ? [] : typeof headerValues === 'string' ? [headerValues] : headerValues;
  const challenges: Challenge[] = [];
  for (const line of lines) parseHeaderValue(line, challenges);
  return challenges;
}

/** The challenge containers/image acts on: the first `basic` or `bearer`; others are ignored. */
export function usableChallenge(challenges: readonly Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'basic' || c.scheme === 'bearer');
}
