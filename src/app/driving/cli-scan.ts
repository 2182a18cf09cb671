/** A pflag-style argv scanner (what skopeo and podman accept), driven by a table of options. */

export type OptionKind = 'flag' | 'value';

export interface OptionTable {
  readonly long: Readonly<Record<string, OptionKind>>;
  /** One-letter spellings and the long option each stands for. */
  readonly short: Readonly<Record<string, string>>;
}

// The spellings Go's strconv.ParseBool accepts, which is what pflag uses for `--flag=value`.
// prettier-ignore
const BOOLEAN_VALUES: Readonly<Record<string, boolean>> = {
  '1': true, t: true, T: true, true: true, TRUE: true, True: true,
  '0': false, f: false, F: false, false: false, FALSE: false, False: false,
};

/** A command line that cannot be run; the CLI turns every one into a `usage-error` command. */
export class UsageProblem extends Error {}

export interface ScannedArgs {
  /** The last value of each option. */
  readonly values: ReadonlyMap<string, string>;
  /** Every value of each option, in order, for the ones that may repeat. */
  readonly allValues: ReadonlyMap<string, readonly string[]>;
  readonly flags: ReadonlyMap<string, boolean>;
  readonly positionals: readonly string[];
}

/**
 * Reads argv the way skopeo's pflag does: options before or after IMAGE, `--opt value` and
 * `--opt=value`, booleans also `--opt=false`, the last occurrence wins, `--` ends options.
 */
export function scan(argv: readonly string[], options: OptionTable): ScannedArgs {
  const values = new Map<string, string>();
  const allValues = new Map<string, string[]>();
  const flags = new Map<string, boolean>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const [spelled, inline] = splitInlineValue(arg);
    const name = longName(spelled, options.short);
    const kind = options.long[name];
    if (kind === undefined) throw new UsageProblem(`unknown option ${spelled}${suggestion(name, Object.keys(options.long))}`);
    if (kind === 'flag') {
      flags.set(name, inline === undefined ? true : parseBoolean(spelled, inline));
    } else {
      const value = inline ?? argv[i + 1];
      if (value === undefined) throw new UsageProblem(`option ${spelled} needs a value`);
      if (inline === undefined) i++;
      values.set(name, value);
      allValues.set(name, [...(allValues.get(name) ?? []), value]);
    }
  }
  return { values, allValues, flags, positionals };
}

function splitInlineValue(arg: string): [string, string | undefined] {
  const eq = arg.indexOf('=');
  return eq === -1 ? [arg, undefined] : [arg.slice(0, eq), arg.slice(eq + 1)];
}

function longName(spelled: string, shortNames: Readonly<Record<string, string>>): string {
  if (spelled.startsWith('--')) return spelled.slice(2);
  const short = shortNames[spelled.slice(1)];
  if (short === undefined) throw new UsageProblem(`unknown option ${spelled}`);
  return short;
}

/** Edit distance (insertions, deletions, substitutions) between two option names. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    previous = row;
  }
  return previous[b.length]!;
}

/**
 * ` (did you mean --x?)` for the known option closest to a mistyped one: one the typed name begins
 * (a truncated `--retry`), else the nearest within a few edits; nothing when none is close.
 */
function suggestion(typed: string, known: readonly string[]): string {
  if (typed === '') return '';
  const started = known.find((name) => name.startsWith(typed));
  const nearest = [...known].sort((a, b) => distance(typed, a) - distance(typed, b))[0];
  const close = nearest !== undefined && distance(typed, nearest) <= Math.max(2, Math.floor(typed.length / 4)) ? nearest : undefined;
  const best = started ?? close;
  return best === undefined ? '' : ` (did you mean --${best}?)`;
}

function parseBoolean(spelled: string, value: string): boolean {
  const parsed = BOOLEAN_VALUES[value];
  if (parsed === undefined) throw new UsageProblem(`option ${spelled} takes true or false, not ${JSON.stringify(value)}`);
  return parsed;
}
