/**
 * What the launcher (scripts/code-cache-loader.mjs) decided about the code cache before the
 * bundle ran: the directory it uses, or why it uses none. It has no logger of its own, so it
 * leaves one line under this registered symbol; the CLI logs it at debug level. Absent when the
 * proxy was not started by the launcher (an embedding program, the tests' tsc output).
 */
const NOTE = Symbol.for('container-image-proxy.code-cache');

export function codeCacheNote(): string | undefined {
  const note = (globalThis as Record<symbol, unknown>)[NOTE];
  return typeof note === 'string' ? note : undefined;
}
