import { expect } from 'chai';
import { createMessage, encrypt, enums, generateKey, readPrivateKey } from 'openpgp';
import { OpenPgpKeyUnwrapper } from '../../../src/adapters/ocicrypt/openpgp-key-unwrapper.js';

describe('OpenPgpKeyUnwrapper', function () {
  this.timeout(30_000);

  async function setUp() {
    const { privateKey, publicKey } = await generateKey({
      type: 'ecc',
      curve: 'curve25519Legacy',
      userIDs: [{ email: 'layers@example.com' }],
      format: 'object',
    });
    const wrap = async (bytes: Uint8Array) =>
      encrypt({
        message: await createMessage({ binary: bytes }),
        encryptionKeys: publicKey,
        format: 'binary',
        config: { preferredCompressionAlgorithm: enums.compression.zlib },
      });
    return { unwrapper: new OpenPgpKeyUnwrapper([await readPrivateKey({ armoredKey: privateKey.armor() })]), wrap };
  }

  it('opens a compressed message to its key', async () => {
    const { unwrapper, wrap } = await setUp();
    const options = Buffer.from('{"symkey":"…","cipheroptions":{}}');
    expect(Buffer.from((await unwrapper.unwrap(await wrap(options)))!).equals(options)).to.equal(true);
  });

  it('refuses a message that inflates far beyond any private options (a compression bomb anyone with the public key can make)', async () => {
    const { unwrapper, wrap } = await setUp();
    const bomb = await wrap(new Uint8Array(16 * 1024 * 1024));
    expect(bomb.length, 'the wrapped bomb is small').to.be.lessThan(100_000);
    expect(await unwrapper.unwrap(bomb)).to.equal(undefined);
  });
});
