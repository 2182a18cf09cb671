/**
 * The property every parser of untrusted input must hold, and how long to look for a
 * counterexample. `npm test` runs a fixed seed and a few hundred cases per parser; `npm run fuzz`
 * runs FUZZ_RUNS cases (default 20000) from FUZZ_SEED (default `random`: a fresh seed, which
 * fast-check prints with any counterexample so that FUZZ_SEED=… replays it).
 */
import fc from 'fast-check';
import { ErrorCodes, ProxyError } from '../../src/domain/errors.js';

const DEFAULT_RUNS = 300;
const DEFAULT_SEED = 20261201;
/** One fresh seed per process, so that every parser of a long run reports the same one. */
const randomSeed = Math.floor(Math.random() * 0x7fffffff);

function envNumber(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  if (name === 'FUZZ_SEED' && value === 'random') return randomSeed;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) throw new Error(`${name}=${value}: expected an integer`);
  return parsed;
}

/** fast-check parameters; `weight` scales the runs for parsers that do I/O per case. */
export function fuzzParameters(weight = 1): { numRuns: number; seed: number; endOnFailure: true } {
  const runs = envNumber('FUZZ_RUNS') ?? DEFAULT_RUNS;
  return { numRuns: Math.max(1, Math.round(runs * weight)), seed: envNumber('FUZZ_SEED') ?? DEFAULT_SEED, endOnFailure: true };
}

/** The Mocha timeout a property needs: generous per case, since a long run is the point of fuzzing. */
export function fuzzTimeout(weight = 1): number {
  return 20_000 + fuzzParameters(weight).numRuns * 50;
}

/**
 * No single input (at most a few hundred KB) may cost more CPU time than this: far above what
 * any parser needs, it catches hangs and runaway super-linear work. CPU time rather than wall
 * time, so that a machine shared by many processes does not fail a case it merely delayed.
 */
const CASE_BUDGET_MS = 10_000;

function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Passes for a ProxyError whose code is in the catalogue; rethrows anything else with context. */
function checkThrown(err: unknown): void {
  if (err instanceof ProxyError && (ErrorCodes as readonly string[]).includes(err.code)) return;
  const what = err instanceof Error ? `${err.constructor.name}: ${err.message}` : `a non-Error ${String(err)}`;
  throw new Error(`the parser threw ${what} instead of a ProxyError`, { cause: err });
}

function checkDuration(started: number): void {
  const spent = cpuMs() - started;
  if (spent > CASE_BUDGET_MS) throw new Error(`one input took ${Math.round(spent)} ms of CPU time (budget ${CASE_BUDGET_MS} ms)`);
}

/** The parser returns a value or throws a ProxyError with a catalogued code, within the budget. */
export function valueOrProxyError(parse: () => unknown): void {
  const started = cpuMs();
  try {
    parse();
  } catch (err) {
    checkThrown(err);
  }
  checkDuration(started);
}

export async function valueOrProxyErrorAsync(parse: () => Promise<unknown>): Promise<void> {
  const started = cpuMs();
  try {
    await parse();
  } catch (err) {
    checkThrown(err);
  }
  checkDuration(started);
}

/** Runs the property for `arbitrary` with the configured runs and seed. */
export function fuzz<T>(arbitrary: fc.Arbitrary<T>, parse: (input: T) => unknown, weight = 1): void {
  fc.assert(
    fc.property(arbitrary, (input) => valueOrProxyError(() => parse(input))),
    fuzzParameters(weight),
  );
}

export async function fuzzAsync<T>(arbitrary: fc.Arbitrary<T>, parse: (input: T) => Promise<unknown>, weight = 1): Promise<void> {
  await fc.assert(
    fc.asyncProperty(arbitrary, (input) => valueOrProxyErrorAsync(() => parse(input))),
    fuzzParameters(weight),
  );
}
