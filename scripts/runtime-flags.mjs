/**
 * The V8 flags both forms of the CLI run with: the bin's shebang (scripts/bundle-cli.mjs) and
 * the executable's SEA `execArgv` (scripts/build-exe.mjs). A V8 flag cannot be set once the
 * heap exists, so they go on the command line.
 *
 * --max-semi-space-size=1: a young generation capped at 1 MiB is scavenged often enough that a
 *   blob's spent 64 KiB read buffers are freed as it streams: peak RSS ~200 → ~130 MiB and
 *   ~1.5× the throughput (cache-warm). Heap sizes are not part of the flag hash V8 checks code
 *   caches against, so Node's own code cache for its builtins still applies.
 *
 * Not --liftoff-only (or any other WebAssembly tiering flag): it is part of that hash, so Node
 * compiled every builtin module the proxy loads from source at each start (~25 ms of CPU
 * before the first manifest) for ~3 MiB less peak RSS (bench/README.md).
 */
export const V8_FLAGS = ['--max-semi-space-size=1'];
