import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isProxyError } from '../../../src/domain/errors.js';
import { AuthFileCredentials } from '../../../src/adapters/credentials/auth-file-credentials.js';
import { parseCredsOption } from '../../../src/adapters/credentials/static-credentials.js';
import { everythingShown, expectRejection } from './support.js';

const SECRET = 'hunter2-S3CR3T';
const secretB64 = Buffer.from(`user:${SECRET}`).toString('base64');

describe('credential errors never show secrets', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'auth-secrets-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const malformed: [string, string, boolean][] = [
    ['invalid JSON right after the secret', `{"auths":{"quay.io":{"auth":"${secretB64}"}}, oops ${SECRET}`, false],
    ['truncated JSON', `{"auths":{"quay.io":{"auth":"${secretB64}"`, false],
    ['auth that is not base64', `{"auths":{"quay.io":{"auth":"${SECRET}!"}}}`, false],
    ['auth that lacks base64 padding', `{"auths":{"quay.io":{"auth":"${secretB64.replace(/=+$/, '')}"}}}`, false],
    ['auth that is a number', `{"auths":{"quay.io":{"auth":42, "identitytoken":"${SECRET}"}}}`, false],
    ['identitytoken that is not a string', `{"auths":{"quay.io":{"auth":"${secretB64}","identitytoken":{"t":"${SECRET}"}}}}`, false],
    ['auths that is an array', `{"auths":["${SECRET}"]}`, false],
    ['an entry that is a string', `{"auths":{"quay.io":"${SECRET}"}}`, false],
    ['credHelpers that is not an object', `{"credHelpers":"${SECRET}"}`, false],
    ['a top level that is an array', `["${SECRET}"]`, false],
    ['an empty file', '', false],
    ['legacy: an entry that is an array', `{"quay.io":["${SECRET}"]}`, true],
  ];

  malformed.forEach(([name, text, legacy], index) => {
    it(`${name}: config-invalid naming the file, without the secret`, async () => {
      const path = join(dir, `bad-${index}.json`);
      await writeFile(path, text);
      const err = await expectRejection(new AuthFileCredentials({ path, legacy }).lookup({ registry: 'quay.io', repository: 'quay.io/ns/repo' }));
      expect(isProxyError(err, 'config-invalid')).to.equal(true);
      expect((err as Error).message).to.contain(path);
      expect(everythingShown(err)).not.to.contain(SECRET);
      expect(everythingShown(err)).not.to.contain(secretB64);
    });
  });

  it('an invalid base64 entry names its key', async () => {
    const path = join(dir, 'bad-key.json');
    await writeFile(path, `{"auths":{"quay.io/ns":{"auth":"${SECRET}"}}}`);
    const err = await expectRejection(new AuthFileCredentials({ path, legacy: false }).lookup({ registry: 'quay.io', repository: 'quay.io/ns/repo' }));
    expect((err as Error).message).to.contain('"quay.io/ns"');
  });

  const badCreds: [string, string][] = [
    ['empty', ''],
    ['empty user', `:${SECRET}`],
  ];
  for (const [name, value] of badCreds) {
    it(`--creds ${name}: config-invalid without the value`, () => {
      let caught: unknown;
      try {
        parseCredsOption(value);
      } catch (err) {
        caught = err;
      }
      expect(isProxyError(caught, 'config-invalid')).to.equal(true);
      if (value !== '') expect(everythingShown(caught)).not.to.contain(SECRET);
    });
  }
});
