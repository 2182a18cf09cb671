/**
 * The top files of an OCI layout hold values of any shape. Found by the property tests: quoting a
 * wrong imageLayoutVersion, digest or size nested thousands of levels deep overflowed the stack.
 */
import { checkLayoutVersion, parseLayoutIndex } from '../../../src/adapters/oci-layout/oci-index.js';
import { expectProxyError } from '../../support/proxy-errors.js';

const DEEP = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
const DIGEST = `sha256:${'a'.repeat(64)}`;

const expectInvalid = (fn: () => unknown, fragment: string): void => expectProxyError(fn, 'manifest-invalid', fragment);

describe('OCI layout top files with values nested 100000 levels deep', () => {
  it('refuses such an imageLayoutVersion, quoting its start', () => {
    expectInvalid(() => checkLayoutVersion({ imageLayoutVersion: DEEP }, 'oci-layout'), `unsupported imageLayoutVersion ${'['.repeat(100)}…`);
  });
  it('refuses such a digest in index.json', () => {
    expectInvalid(() => parseLayoutIndex({ manifests: [{ digest: DEEP, size: 1 }] }, 'index.json'), 'manifests[0]: invalid digest [[[');
  });
  it('refuses such a size in index.json', () => {
    expectInvalid(() => parseLayoutIndex({ manifests: [{ digest: DIGEST, size: DEEP }] }, 'index.json'), 'manifests[0]: invalid size [[[');
  });
});
