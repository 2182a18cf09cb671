#!/usr/bin/env node
import { enableCompileCache } from 'node:module';
import { ExitCode } from './cli-args.js';
import { describe, runProxy, say } from './run-proxy.js';

// Startup time is what a sidecar's parent waits for; the compile cache roughly halves module loading.
enableCompileCache();

runProxy(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(describe(err));
    process.exit(ExitCode.failure);
  },
);
