#!/usr/bin/env node
import { ExitCode } from './cli-args.js';
import { describeError, runProxy, say } from './run-proxy.js';

// The installed bin is a launcher (scripts/bundle-cli.mjs) that checks the Node version and
// loads the bundled form of this file with its code cache (scripts/code-cache-loader.mjs).
runProxy(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(describeError(err));
    process.exit(ExitCode.failure);
  },
);
