import { expect } from 'chai';
import { type Digest } from '../../src/domain/digest.js';
import { isProxyError } from '../../src/domain/errors.js';
import { policyIdentity, policyNamespaces } from '../../src/domain/policy-identity.js';
import { type ImageReference, parseImageName } from '../../src/domain/reference.js';

const SHA256 = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('policy identity and namespaces', () => {
  const table: ReadonlyArray<readonly [string, string, readonly string[]]> = [
    [
      'docker://reg.example.com:5000/ns/repo:1',
      'reg.example.com:5000/ns/repo:1',
      ['reg.example.com:5000/ns/repo', 'reg.example.com:5000/ns', 'reg.example.com:5000', '*.example.com', '*.com'],
    ],
    ['docker://busybox', 'docker.io/library/busybox:latest', ['docker.io/library/busybox', 'docker.io/library', 'docker.io', '*.io']],
    [`docker://quay.io/x@${SHA256}`, `quay.io/x@${SHA256}`, ['quay.io/x', 'quay.io', '*.io']],
    ['docker://localhost:5000/a/b/c:1', 'localhost:5000/a/b/c:1', ['localhost:5000/a/b/c', 'localhost:5000/a/b', 'localhost:5000/a', 'localhost:5000']],
    ['docker://localhost/x', 'localhost/x:latest', ['localhost/x', 'localhost']],
    ['docker://a.b.example.com/x:1', 'a.b.example.com/x:1', ['a.b.example.com/x', 'a.b.example.com', '*.b.example.com', '*.example.com', '*.com']],
    // containers/image treats an IP address like any dotted host name.
    ['docker://127.0.0.1:5000/x:1', '127.0.0.1:5000/x:1', ['127.0.0.1:5000/x', '127.0.0.1:5000', '*.0.0.1', '*.0.1', '*.1']],
    ['oci:/a/b/c', '/a/b/c', ['/a/b/c', '/a/b', '/a']],
    ['oci:/a/b/c:tag', '/a/b/c', ['/a/b/c', '/a/b', '/a']],
    ['oci:/a/b/c:@2', '/a/b/c', ['/a/b/c', '/a/b', '/a']],
    ['oci:/a', '/a', ['/a']],
    ['oci:/', '/', []],
    ['oci:/a//b/./c/:x', '/a/b/c', ['/a/b/c', '/a/b', '/a']],
    ['oci:/a/b/../c', '/a/c', ['/a/c', '/a']],
    ['oci-archive:/x/y.tar:tag', '/x/y.tar', ['/x/y.tar', '/x']],
    ['oci-archive:/y.tar', '/y.tar', ['/y.tar']],
    ['dir:/a/b/c', '/a/b/c', ['/a/b', '/a']],
    ['dir:/a', '/a', []],
    ['dir:/', '/', []],
    ['dir:/a/b/', '/a/b', ['/a']],
    ['dir:/a:b/c', '/a:b/c', ['/a:b']],
    ['docker-archive:/a.tar', '', []],
    ['docker-archive:/a.tar:busybox', '', []],
    ['docker-archive:/a.tar:@1', '', []],
    ['docker-daemon:busybox:1', 'docker.io/library/busybox:1', ['docker.io/library/busybox', 'docker.io/library', 'docker.io', '*.io']],
    ['docker-daemon:localhost/a/b:v1', 'localhost/a/b:v1', ['localhost/a/b', 'localhost/a', 'localhost']],
    // An image ID names no repository: containers/image leaves it to the transport's "" scope.
    [`docker-daemon:${SHA256}`, '', []],
  ];
  for (const [input, identity, namespaces] of table) {
    it(`${input} → ${JSON.stringify(identity)}`, () => {
      const ref = parseImageName(input);
      expect(policyIdentity(ref)).to.equal(identity);
      expect(policyNamespaces(ref)).to.deep.equal(namespaces);
    });
  }

  const refused: ReadonlyArray<readonly [string, ImageReference]> = [
    ['a relative oci path', { transport: 'oci', path: 'rel/dir' }],
    ['a relative dir path', { transport: 'dir', path: './x' }],
    ['a relative oci-archive path', { transport: 'oci-archive', path: 'x.tar' }],
    ['a docker reference without tag or digest', { transport: 'docker', docker: { domain: 'docker.io', path: 'library/busybox' } }],
    [
      'a docker reference with tag and digest',
      { transport: 'docker', docker: { domain: 'docker.io', path: 'library/busybox', tag: '1', digest: SHA256 as Digest } },
    ],
  ];
  for (const [why, ref] of refused) {
    it(`refuses ${why} as an internal error`, () => {
      expect(() => policyIdentity(ref))
        .to.throw()
        .that.satisfies((err: unknown) => isProxyError(err, 'internal'));
    });
  }

  it('refuses a relative path for namespaces too', () => {
    expect(() => policyNamespaces({ transport: 'dir', path: 'x' }))
      .to.throw()
      .that.satisfies((err: unknown) => isProxyError(err, 'internal'));
  });
});
