/**
 * TarIndex on archives that end early. Found by the property tests: an archive cut inside an
 * entry failed that entry's stream too, and with nothing listening the error crashed the process
 * besides rejecting the walk.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import { TarIndex } from '../../../src/adapters/archive/tar-index.js';
import { isProxyError } from '../../../src/domain/errors.js';
import { tarArchive } from '../../support/tar.js';

describe('TarIndex on truncated archives', function () {
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'tar-index-'));
  });
  after(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  const whole = tarArchive([
    { path: 'big', content: 'x'.repeat(3000) },
    { path: 'manifest.json', content: '[]' },
  ]);
  const cases: [string, Uint8Array][] = [
    ['cut inside the data of an entry', whole.subarray(0, 1500)],
    ['cut inside a header', whole.subarray(0, 3584 + 100)],
    ['gzip-compressed and cut inside an entry', gzipSync(whole.subarray(0, 1500))],
  ];
  for (const [what, bytes] of cases) {
    it(`rejects an archive ${what} as manifest-invalid, and nothing else fails`, async () => {
      const path = join(work, `${what.replaceAll(' ', '-')}.tar`);
      await writeFile(path, bytes);
      const error = await TarIndex.build(path).then(
        () => expect.fail('expected a rejection'),
        (err: unknown) => err,
      );
      expect(isProxyError(error, 'manifest-invalid'), String(error)).to.equal(true);
      expect((error as Error).message).to.contain(path);
      // An unheard stream error surfaces as an uncaught exception a tick later, failing this test.
      await new Promise((resolve) => setTimeout(resolve, 50));
    });
  }
});
