import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';

/**
 * A process that exits while docker-daemon: is still making its export file (SIGTERM or POST /quit
 * at that moment) leaves nothing in $TMPDIR. The child exits at the first turn of its event loop
 * that finds the export's directory in $TMPDIR, which comes before the file in it is made.
 */
const CHILD = `
import { readdirSync } from 'node:fs';
const { DockerDaemonTransport } = await import(process.argv[1]);
const engine = { exportImage: () => new Promise(() => {}) };
void new DockerDaemonTransport(engine).open({ transport: 'docker-daemon', imageId: 'sha256:${'a'.repeat(64)}' }, {});
const poll = () => (readdirSync(process.env.TMPDIR).length > 0 ? process.exit(0) : setImmediate(poll));
poll();
`;

describe('DockerDaemonTransport at exit', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'export-at-exit-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('leaves no export directory when the process exits the moment it is made', () => {
    const transport = new URL('../../../src/adapters/docker-daemon/docker-daemon-transport.js', import.meta.url).href;
    for (let run = 0; run < 5; run++) {
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, transport], {
        env: { ...process.env, TMPDIR: tmp },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(child.status, child.stderr).to.equal(0);
      expect(readdirSync(tmp), `run ${run}`).to.deep.equal([]);
    }
  });
});
