/**
 * The V8 flags both forms of the CLI run with: the bin's shebang (scripts/bundle-cli.mjs) and
 * the executable's SEA `execArgv` (scripts/build-exe.mjs). A V8 flag cannot be set once the
 * heap exists, so they go on the command line.
 *
 * --max-semi-space-size=1: a young generation capped at 1 MiB is scavenged often enough that a
 *   blob's spent 64 KiB read buffers are freed as it streams: peak RSS ~200 → ~130 MiB and
 *   ~1.5× the throughput (cache-warm).
 * --liftoff-only: undici parses HTTP/1 with llhttp compiled to WebAssembly; V8 otherwise
 *   recompiles its hot functions with TurboFan on a helper thread, whose ~10 MiB of compiler
 *   memory stays in that thread's malloc arena for the life of the process. Liftoff's code is
 *   enough for llhttp here (it parses headers; body bytes pass through): peak RSS streaming a
 *   blob −5 to −12 MiB at the same CPU per blob (bench/README.md).
 */
export const V8_FLAGS = ['--max-semi-space-size=1', '--liftoff-only'];
