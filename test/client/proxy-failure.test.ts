/**
 * A proxy that fails at start, tried as a new user would: a plain ESM script with top-level
 * await and nothing else keeping its event loop alive. Every pending and later call must reject
 * with proxy-failed carrying the proxy's own stderr line and exit status; before, the script
 * ended with "unsettled top-level await" (exit 13) and its catch never ran.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { REPO_ROOT } from '../support/spawn-proxy.js';

const run = promisify(execFile);
const CLIENT_URL = pathToFileURL(join(REPO_ROOT, 'dist/src/client/index.js')).href;

const SCRIPT = `
import { ImageProxy, ImageProxyError } from '${CLIENT_URL}';

const options = JSON.parse(process.argv[2]);
const proxy = await ImageProxy.spawn(options);
let piped = '';
if (options.stderr === 'pipe') proxy.child.stderr.on('data', (chunk) => (piped += chunk));
const outcome = (call) =>
  call.then(
    () => 'answered',
    (err) => ({ isImageProxyError: err instanceof ImageProxyError, code: err.code, status: err.status, message: err.message }),
  );
// Two calls at once: with one connection the second waits in the pool when the proxy dies.
const pending = await Promise.all([outcome(proxy.manifest()), outcome(proxy.config())]);
const later = await outcome(proxy.layers());
console.log(JSON.stringify({ pending, later, piped }));
`;

interface Outcome {
  readonly isImageProxyError: boolean;
  readonly code: string;
  readonly status: number;
  readonly message: string;
}

describe('TypeScript client: a proxy that fails at start, from a plain script', function () {
  this.timeout(30000);
  let dir: string;
  let script: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cip-client-failure-'));
    script = join(dir, 'script.mjs');
    await writeFile(script, SCRIPT);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const cases: readonly { why: string; args: string[]; stderr: 'inherit' | 'pipe' | 'ignore'; connections: number; exit: number; line: string }[] = [
    {
      why: 'a typo in an option',
      args: ['--bogus'],
      stderr: 'inherit',
      connections: 1,
      exit: 2,
      line: 'container-image-proxy: unknown option --bogus (see --help)',
    },
    {
      why: 'no policy.json',
      args: ['--policy', '/nonexistent/policy.json'],
      stderr: 'ignore',
      connections: 4,
      exit: 1,
      line: 'container-image-proxy: policy-invalid: cannot read policy /nonexistent/policy.json: ENOENT',
    },
    {
      why: 'a typo in an option, stderr piped',
      args: ['--tls-verfy'],
      stderr: 'pipe',
      connections: 2,
      exit: 2,
      line: 'container-image-proxy: unknown option --tls-verfy (did you mean --tls-verify?) (see --help)',
    },
  ];
  for (const { why, args, stderr, connections, exit, line } of cases) {
    it(`rejects every pending and later call with proxy-failed, its stderr line and exit status: ${why} (stderr '${stderr}')`, async () => {
      const options = { image: 'oci:/nonexistent/layout:tag', args, stderr, connections };
      const answer = await run(process.execPath, [script, JSON.stringify(options)], { timeout: 20000 });
      const out = JSON.parse(answer.stdout) as { pending: Outcome[]; later: Outcome; piped: string };
      const expected = (what: string) => ({
        isImageProxyError: true,
        code: 'proxy-failed',
        status: 0,
        message: `${what}: the proxy exited with code ${exit}: ${line}`,
      });
      expect(out.pending).to.deep.equal([expected('GET /manifest'), expected('GET /config')]);
      expect(out.later).to.deep.equal(expected('GET /layers'));
      // The proxy's stderr still goes where it was asked to.
      expect(answer.stderr).to.equal(stderr === 'inherit' ? `${line}\n` : '');
      expect(out.piped).to.equal(stderr === 'pipe' ? `${line}\n` : '');
    });
  }
});
