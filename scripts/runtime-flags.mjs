/**
 * The V8 flags both forms of the CLI run with: the bin's shebang (scripts/bundle-cli.mjs) and
 * the executable's SEA `execArgv` (scripts/build-exe.mjs).
 *
 * A young generation capped at 1 MiB is scavenged often enough that a blob's spent 64 KiB read
 * buffers are freed as it streams: peak RSS ~200 → ~130 MiB and ~1.5× the throughput
 * (cache-warm). A V8 flag cannot be set once the heap exists, so it goes on the command line.
 */
export const V8_FLAGS = ['--max-semi-space-size=1'];
