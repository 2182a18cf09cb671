import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';
import { useRegistry } from '../../support/registry/fixture.js';
import { run } from '../../support/registry/processes.js';
import { standardFixtures } from '../../support/image-fixtures.js';
import { REPO_ROOT } from '../../support/spawn-proxy.js';
import { requireTool } from '../e2e-images.js';
import { dockerReference, isolatedEnv } from './proxy-session.js';

/** The demos as README shows them: `demo docker://HOST/REPO:TAG --tls-verify=false [options]`. */

const DEMO_JS = join(REPO_ROOT, 'dist/examples/demo.js');
const DEMO_PY = join(REPO_ROOT, 'examples/demo.py');

describe('demos against a real registry (docker:// and pass-through proxy options)', function () {
  this.timeout(60_000);
  const registry = useRegistry({ kind: 'anonymous' }, { tempDir: 'e2e-registry-demo', images: () => ({ 'demo/image:v1': standardFixtures().dockerList }) });

  const demos: readonly { name: string; command: () => [string, string[]]; needsPython?: boolean }[] = [
    { name: 'Node demo', command: () => [process.execPath, [DEMO_JS]] },
    { name: 'Python demo', command: () => ['python3', [DEMO_PY]], needsPython: true },
  ];
  for (const { name, command, needsPython } of demos) {
    it(`${name}: pulls the arm64/v8 instance of a docker list, every digest verified, exit 0`, async function () {
      if (needsPython) requireTool(this, spawnSync('python3', ['--version']).status === 0, 'python3');
      const [program, args] = command();
      const reference = dockerReference(registry.host, 'demo/image', 'v1');
      const options = ['--tls-verify=false', '--override-os', 'linux', '--override-arch', 'arm64', '--override-variant', 'v8'];
      const { stdout } = await run(program, [...args, reference, ...options], { cwd: REPO_ROOT, env: isolatedEnv(registry.workDir) });
      const arm64 = standardFixtures().dockerList.instances[1]!;
      expect(stdout).to.include(reference);
      expect(stdout).to.include(`instance  ${arm64.manifest.digest}`);
      expect(stdout).to.include('platform  linux/arm64/v8');
      expect(stdout.match(/digest OK/g)).to.have.length(1 + arm64.layers.length);
      expect(stdout).to.not.include('MISMATCH');
      expect(stdout).to.include('the proxy exited with 0');
    });
  }

  it("Node demo without --tls-verify=false: fails with the proxy's error, non-zero exit", async () => {
    const reference = dockerReference(registry.host, 'demo/image', 'v1');
    await run(process.execPath, [DEMO_JS, reference], { cwd: REPO_ROOT, env: isolatedEnv(registry.workDir) }).then(
      () => expect.fail('an http registry without --tls-verify=false must not be reached over https'),
      (error: unknown) => expect(String(error)).to.match(/demo failed: GET \/manifest: HTTP 502/),
    );
  });
});
