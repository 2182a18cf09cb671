import { expect } from 'chai';
import { type Digest } from '../../src/domain/digest.js';
import { type ErrorCode, isProxyError, type ProxyError } from '../../src/domain/errors.js';
import {
  type DockerReference,
  dockerString,
  formatImageName,
  type ImageReference,
  isShortName,
  parseCanonicalDockerReference,
  parseDockerReference,
  parseImageName,
  withDefaultTag,
} from '../../src/domain/reference.js';

const HEX64 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const SHA256 = `sha256:${HEX64}`;
const SHA384 = `sha384:${'0123456789abcdef'.repeat(6)}`;
const SHA512 = `sha512:${'0123456789abcdef'.repeat(8)}`;
const SUPPORTED = 'docker, oci, dir, oci-archive, docker-archive, docker-daemon, containers-storage';
/** `docker.io/library/` plus this many characters is exactly the 255-character name limit. */
const LONGEST_OFFICIAL_NAME = 255 - 'docker.io/library/'.length;

function expectProxyError(run: () => unknown, code: ErrorCode): ProxyError {
  try {
    run();
  } catch (err) {
    expect(isProxyError(err, code), `expected a ${code} ProxyError, got ${String(err)}`).to.equal(true);
    return err as ProxyError;
  }
  return expect.fail(`expected a ${code} error`);
}

function docker(domain: string, path: string, tag?: string, digest?: string): DockerReference {
  return { domain, path, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) } as DockerReference;
}

describe('parseDockerReference (ParseNormalizedNamed)', () => {
  const valid: ReadonlyArray<readonly [string, DockerReference]> = [
    ['busybox', docker('docker.io', 'library/busybox')],
    ['busybox:1.36', docker('docker.io', 'library/busybox', '1.36')],
    ['library/busybox', docker('docker.io', 'library/busybox')],
    ['docker.io/busybox', docker('docker.io', 'library/busybox')],
    ['docker.io/library/busybox', docker('docker.io', 'library/busybox')],
    ['index.docker.io/foo', docker('docker.io', 'library/foo')],
    ['index.docker.io/docker/docker', docker('docker.io', 'docker/docker')],
    ['docker/docker', docker('docker.io', 'docker/docker')],
    ['localhost/foo', docker('localhost', 'foo')],
    ['localhost:5000/foo/bar:tag', docker('localhost:5000', 'foo/bar', 'tag')],
    ['foo:5000/bar', docker('foo:5000', 'bar')],
    ['127.0.0.1:5000/debian', docker('127.0.0.1:5000', 'debian')],
    [`quay.io/org/repo@${SHA256}`, docker('quay.io', 'org/repo', undefined, SHA256)],
    [`busybox:1@${SHA256}`, docker('docker.io', 'library/busybox', '1', SHA256)],
    [`busybox@${SHA384}`, docker('docker.io', 'library/busybox', undefined, SHA384)],
    [`busybox@${SHA512}`, docker('docker.io', 'library/busybox', undefined, SHA512)],
    ['Registry.Example.COM/ns/repo', docker('Registry.Example.COM', 'ns/repo')],
    ['my-registry.example.com/a/b/c:v1.0-rc_1', docker('my-registry.example.com', 'a/b/c', 'v1.0-rc_1')],
    ['a__b/c-----d/e.f_g', docker('docker.io', 'a__b/c-----d/e.f_g')],
    ['busybox:UPPER_case.tag-1', docker('docker.io', 'library/busybox', 'UPPER_case.tag-1')],
    [`busybox:_${'x'.repeat(127)}`, docker('docker.io', 'library/busybox', `_${'x'.repeat(127)}`)],
    [`docker.io/${HEX64}`, docker('docker.io', `library/${HEX64}`)],
    [
      'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
      docker('docker.io', 'library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev'),
    ],
    ['x'.repeat(LONGEST_OFFICIAL_NAME), docker('docker.io', `library/${'x'.repeat(LONGEST_OFFICIAL_NAME)}`)],
  ];
  for (const [input, expected] of valid) {
    it(`parses ${input.length > 70 ? `${input.slice(0, 60)}…` : input}`, () => {
      expect(parseDockerReference(input)).to.deep.equal(expected);
    });
  }

  const invalid: ReadonlyArray<readonly [string, string]> = [
    ['', 'empty'],
    [HEX64, 'image ID'],
    ['Busybox', 'must be lowercase'],
    ['Foo/bar', 'must be lowercase'],
    ['library/Busybox', 'must be lowercase'],
    ['docker/Docker', 'must be lowercase'],
    ['docker.io/docker/Docker', 'must be lowercase'],
    ['localhost:5000/Foo', 'must be lowercase'],
    ['LOCALHOST/foo', 'must be lowercase'],
    ['https://github.com/docker/docker', 'expected [HOST[:PORT]/]PATH'],
    ['-docker', 'expected [HOST[:PORT]/]PATH'],
    ['-docker/docker', 'expected [HOST[:PORT]/]PATH'],
    ['-docker.io/docker/docker', 'expected [HOST[:PORT]/]PATH'],
    ['docker///docker', 'expected [HOST[:PORT]/]PATH'],
    ['docker.io/docker///docker', 'expected [HOST[:PORT]/]PATH'],
    ['foo..bar', 'expected [HOST[:PORT]/]PATH'],
    ['foo/', 'expected [HOST[:PORT]/]PATH'],
    [' busybox', 'expected [HOST[:PORT]/]PATH'],
    ['busybox:', 'expected [HOST[:PORT]/]PATH'],
    ['busybox:.tag', 'expected [HOST[:PORT]/]PATH'],
    [`busybox:${'x'.repeat(129)}`, 'expected [HOST[:PORT]/]PATH'],
    ['foo:bar/baz', 'expected [HOST[:PORT]/]PATH'],
    [`busybox@sha256:${'a'.repeat(31)}`, 'expected [HOST[:PORT]/]PATH'],
    [`busybox@sha256:${HEX64.toUpperCase()}`, 'lower-case hex'],
    [`busybox@sha256:${HEX64.slice(1)}`, 'sha256 needs 64 hex characters'],
    [`busybox@sha256:${HEX64}0`, 'sha256 needs 64 hex characters'],
    [`busybox@sha384:${HEX64}`, 'sha384 needs 96 hex characters'],
    [`busybox@md5:${'a'.repeat(32)}`, 'expected sha256, sha384 or sha512'],
    ['x'.repeat(LONGEST_OFFICIAL_NAME + 1), 'at most 255'],
    ['a_b.com/foo', 'not a valid registry host'],
  ];
  for (const [input, reason] of invalid) {
    it(`rejects ${JSON.stringify(input.length > 70 ? `${input.slice(0, 60)}…` : input)} (${reason})`, () => {
      const err = expectProxyError(() => parseDockerReference(input), 'invalid-reference');
      expect(err.message).to.include(JSON.stringify(input));
      expect(err.message).to.include(reason);
    });
  }

  const adversarial = [
    'a'.repeat(50_000) + '!',
    'a' + '-'.repeat(50_000) + '!',
    'a.'.repeat(30_000) + '!',
    `${'a-'.repeat(30_000)}/!`,
    `x/${'a_'.repeat(30_000)}`,
  ];
  for (const input of adversarial) {
    it(`rejects a ${input.length}-character pathological input in linear time`, () => {
      const started = performance.now();
      expectProxyError(() => parseDockerReference(input), 'invalid-reference');
      expect(performance.now() - started).to.be.below(500);
    });
  }
});

describe('parseCanonicalDockerReference (ParseNamed)', () => {
  const canonical: ReadonlyArray<readonly [string, DockerReference]> = [
    ['docker.io/library/busybox', docker('docker.io', 'library/busybox')],
    ['docker.io/library/busybox:latest', docker('docker.io', 'library/busybox', 'latest')],
    [`quay.io/a/b@${SHA256}`, docker('quay.io', 'a/b', undefined, SHA256)],
    ['localhost:5000/x:1', docker('localhost:5000', 'x', '1')],
    ['Quay.io/a', docker('Quay.io', 'a')],
  ];
  for (const [input, expected] of canonical) {
    it(`accepts ${input}`, () => {
      expect(parseCanonicalDockerReference(input)).to.deep.equal(expected);
    });
  }
  const notCanonical: ReadonlyArray<readonly [string, string]> = [
    ['busybox', 'docker.io/library/busybox'],
    ['docker.io/alpine', 'docker.io/library/alpine'],
    ['library/busybox:1', 'docker.io/library/busybox:1'],
    ['index.docker.io/library/x', 'docker.io/library/x'],
  ];
  for (const [input, normalized] of notCanonical) {
    it(`rejects ${input}, naming the canonical form`, () => {
      const err = expectProxyError(() => parseCanonicalDockerReference(input), 'invalid-reference');
      expect(err.message).to.include(JSON.stringify(input));
      expect(err.message).to.include('must be canonical');
      expect(err.message).to.include(normalized);
    });
  }
  it('reports grammar errors like parseDockerReference', () => {
    const err = expectProxyError(() => parseCanonicalDockerReference('docker.io/library/Busybox'), 'invalid-reference');
    expect(err.message).to.include('must be lowercase');
  });
});

describe('withDefaultTag (TagNameOnly)', () => {
  const table: ReadonlyArray<readonly [string, string]> = [
    ['busybox', 'docker.io/library/busybox:latest'],
    ['quay.io/a/b:1', 'quay.io/a/b:1'],
    [`quay.io/a/b@${SHA256}`, `quay.io/a/b@${SHA256}`],
    [`quay.io/a/b:1@${SHA256}`, `quay.io/a/b:1@${SHA256}`],
  ];
  for (const [input, expected] of table) {
    it(`${input} → ${expected}`, () => {
      expect(dockerString(withDefaultTag(parseDockerReference(input)))).to.equal(expected);
    });
  }
});

describe('isShortName', () => {
  const table: ReadonlyArray<readonly [string, boolean]> = [
    ['busybox', true],
    ['busybox:1', true],
    [`busybox@${SHA256}`, true],
    ['library/busybox', true],
    ['Foo/bar', true],
    ['foo/bar:tag', true],
    ['LOCALHOST/x', true],
    ['docker.io/busybox', false],
    ['quay.io/x', false],
    ['localhost/x', false],
    ['localhost:5000/x', false],
    ['foo:5000/bar', false],
    ['a.b/c', false],
    ['Busybox', false],
    ['', false],
    ['foo/', false],
  ];
  for (const [input, short] of table) {
    it(`${JSON.stringify(input)} → ${short}`, () => {
      expect(isShortName(input)).to.equal(short);
    });
  }
});

describe('parseImageName', () => {
  const latest = (domain: string, path: string) => docker(domain, path, 'latest');
  const valid: ReadonlyArray<readonly [string, ImageReference, string]> = [
    ['docker://busybox', { transport: 'docker', docker: latest('docker.io', 'library/busybox') }, 'docker://docker.io/library/busybox:latest'],
    ['docker://busybox:1', { transport: 'docker', docker: docker('docker.io', 'library/busybox', '1') }, 'docker://docker.io/library/busybox:1'],
    ['docker://index.docker.io/foo', { transport: 'docker', docker: latest('docker.io', 'library/foo') }, 'docker://docker.io/library/foo:latest'],
    ['docker://localhost:5000/x', { transport: 'docker', docker: latest('localhost:5000', 'x') }, 'docker://localhost:5000/x:latest'],
    [`docker://quay.io/a/b@${SHA256}`, { transport: 'docker', docker: docker('quay.io', 'a/b', undefined, SHA256) }, `docker://quay.io/a/b@${SHA256}`],
    ['oci:/a', { transport: 'oci', path: '/a' }, 'oci:/a'],
    ['oci:/a:', { transport: 'oci', path: '/a' }, 'oci:/a'],
    ['oci:/a:latest', { transport: 'oci', path: '/a', reference: 'latest' }, 'oci:/a:latest'],
    ['oci:/a:b:c', { transport: 'oci', path: '/a', reference: 'b:c' }, 'oci:/a:b:c'],
    ['oci:relative/dir:tag', { transport: 'oci', path: 'relative/dir', reference: 'tag' }, 'oci:relative/dir:tag'],
    ['oci:./x', { transport: 'oci', path: './x' }, 'oci:./x'],
    ['oci:/a:reg.io/ns/img:1.0', { transport: 'oci', path: '/a', reference: 'reg.io/ns/img:1.0' }, 'oci:/a:reg.io/ns/img:1.0'],
    ['oci:/a:name@v+1', { transport: 'oci', path: '/a', reference: 'name@v+1' }, 'oci:/a:name@v+1'],
    ['oci:/a:A--b_C', { transport: 'oci', path: '/a', reference: 'A--b_C' }, 'oci:/a:A--b_C'],
    ['oci:/a:@0', { transport: 'oci', path: '/a', index: 0 }, 'oci:/a:@0'],
    ['oci:/a:@10', { transport: 'oci', path: '/a', index: 10 }, 'oci:/a:@10'],
    ['oci:/a:@999999', { transport: 'oci', path: '/a', index: 999999 }, 'oci:/a:@999999'],
    ['oci:/a:@+3', { transport: 'oci', path: '/a', index: 3 }, 'oci:/a:@3'],
    ['oci:/a:@007', { transport: 'oci', path: '/a', index: 7 }, 'oci:/a:@7'],
    ['oci:/a:@-0', { transport: 'oci', path: '/a', index: 0 }, 'oci:/a:@0'],
    ['dir:/x', { transport: 'dir', path: '/x' }, 'dir:/x'],
    ['dir:rel/x', { transport: 'dir', path: 'rel/x' }, 'dir:rel/x'],
    ['dir:/a:b', { transport: 'dir', path: '/a:b' }, 'dir:/a:b'],
    ['oci-archive:/a.tar', { transport: 'oci-archive', path: '/a.tar' }, 'oci-archive:/a.tar'],
    ['oci-archive:/a.tar:', { transport: 'oci-archive', path: '/a.tar' }, 'oci-archive:/a.tar'],
    ['oci-archive:/a.tar:tag', { transport: 'oci-archive', path: '/a.tar', reference: 'tag' }, 'oci-archive:/a.tar:tag'],
    ['oci-archive:/a.tar:b:c', { transport: 'oci-archive', path: '/a.tar', reference: 'b:c' }, 'oci-archive:/a.tar:b:c'],
    ['docker-archive:/a.tar', { transport: 'docker-archive', path: '/a.tar' }, 'docker-archive:/a.tar'],
    [
      'docker-archive:/a.tar:busybox',
      { transport: 'docker-archive', path: '/a.tar', docker: latest('docker.io', 'library/busybox') },
      'docker-archive:/a.tar:docker.io/library/busybox:latest',
    ],
    [
      'docker-archive:/a.tar:quay.io/x:1',
      { transport: 'docker-archive', path: '/a.tar', docker: docker('quay.io', 'x', '1') },
      'docker-archive:/a.tar:quay.io/x:1',
    ],
    ['docker-archive:a.tar:@1', { transport: 'docker-archive', path: 'a.tar', index: 1 }, 'docker-archive:a.tar:@1'],
    [
      'docker-daemon:busybox:1',
      { transport: 'docker-daemon', docker: docker('docker.io', 'library/busybox', '1') },
      'docker-daemon:docker.io/library/busybox:1',
    ],
    ['docker-daemon:localhost/app:v1', { transport: 'docker-daemon', docker: docker('localhost', 'app', 'v1') }, 'docker-daemon:localhost/app:v1'],
    ['docker-daemon:quay.io:443/a/b:c', { transport: 'docker-daemon', docker: docker('quay.io:443', 'a/b', 'c') }, 'docker-daemon:quay.io:443/a/b:c'],
    [`docker-daemon:${SHA256}`, { transport: 'docker-daemon', imageId: SHA256 as Digest }, `docker-daemon:${SHA256}`],
    // Only docker.io/library/sha256 is reserved for image IDs; other digests-to-be are names.
    ['docker-daemon:x/sha256:1', { transport: 'docker-daemon', docker: docker('docker.io', 'x/sha256', '1') }, 'docker-daemon:docker.io/x/sha256:1'],
    ['docker-daemon:sha1:abc', { transport: 'docker-daemon', docker: docker('docker.io', 'library/sha1', 'abc') }, 'docker-daemon:docker.io/library/sha1:abc'],
  ];
  for (const [input, expected, formatted] of valid) {
    it(`parses ${input}`, () => {
      expect(parseImageName(input)).to.deep.equal(expected);
    });
    it(`formats ${input} as ${formatted}, which parses back to the same reference`, () => {
      expect(formatImageName(expected)).to.equal(formatted);
      expect(parseImageName(formatted)).to.deep.equal(expected);
    });
  }

  const invalid: ReadonlyArray<readonly [string, string]> = [
    ['', 'expected TRANSPORT:REFERENCE'],
    ['busybox', 'did you mean "docker://busybox"?'],
    ['/some/dir', 'expected TRANSPORT:REFERENCE'],
    ['busybox:latest', 'unknown transport "busybox"; did you mean "docker://busybox:latest"?'],
    ['localhost:5000/x', 'unknown transport "localhost"; did you mean "docker://localhost:5000/x"?'],
    ['foo:/bar', 'unknown transport "foo"'],
    [':x', 'unknown transport ""'],
    ['Docker://busybox', 'unknown transport "Docker"'],
    ['constructor:x', 'unknown transport "constructor"'],
    ['__proto__:x', 'unknown transport "__proto__"'],
    ['docker:busybox', 'needs "//"'],
    ['docker:/busybox', 'needs "//"'],
    ['docker://', 'empty'],
    [`docker://busybox:1@${SHA256}`, 'Docker references with both a tag and digest are currently not supported'],
    ['docker://Busybox', 'must be lowercase'],
    ['docker://library/Busybox', 'must be lowercase'],
    [`docker://busybox@sha256:${HEX64.toUpperCase()}`, 'lower-case hex'],
    [`docker://busybox@sha256:${HEX64.slice(2)}`, 'sha256 needs 64 hex characters'],
    ['docker://busybox@@unknown-digest@@', 'only meaningful when pushing'],
    [`docker://${HEX64}`, 'image ID'],
    ['oci:', 'the oci path is empty'],
    ['oci::tag', 'the oci path is empty'],
    ['oci:/p:@-1', 'must not be negative'],
    ['oci:/p:@', 'is not an integer'],
    ['oci:/p:@abc', 'is not an integer'],
    ['oci:/p:@1.5', 'is not an integer'],
    ['oci:/p:@ 1', 'is not an integer'],
    ['oci:/p:@99999999999999999999', 'too large'],
    ['oci:/p:-tag', 'not a valid OCI reference name'],
    ['oci:/p:a b', 'not a valid OCI reference name'],
    ['oci:/p:a---b', 'not a valid OCI reference name'],
    ['oci:/p:a/', 'not a valid OCI reference name'],
    ['oci:/p:a//b', 'not a valid OCI reference name'],
    ['oci-archive:', 'the oci-archive path is empty'],
    ['oci-archive::x', 'the oci-archive path is empty'],
    ['oci-archive:/a.tar:@1', 'not a valid OCI reference name'],
    ['dir:', 'the dir path is empty'],
    ['docker-archive:', 'the docker-archive path is empty'],
    ['docker-archive::busybox', 'the docker-archive path is empty'],
    ['docker-archive:/a.tar:', 'empty'],
    [`docker-archive:/a.tar:busybox@${SHA256}`, 'must not contain a digest'],
    [`docker-archive:/a.tar:busybox:1@${SHA256}`, 'must not contain a digest'],
    ['docker-archive:/a.tar:@-2', 'must not be negative'],
    ['docker-archive:/a.tar:@x', 'is not an integer'],
    ['docker-archive:/a.tar:Busybox', 'must be lowercase'],
    ['docker-daemon:', 'empty'],
    ['docker-daemon:busybox', 'needs a tag (NAME:TAG) or an image ID (sha256:IMAGE-ID)'],
    [`docker-daemon:busybox@${SHA256}`, 'cannot be named by digest'],
    [`docker-daemon:busybox:1@${SHA256}`, 'cannot be named by digest'],
    [`docker-daemon:${SHA512}`, 'only sha256 image IDs are accepted'],
    [`docker-daemon:${SHA384}`, 'only sha256 image IDs are accepted'],
    ['docker-daemon:sha256:abc', 'the sha256 repository name is reserved for image IDs'],
    [`docker-daemon:sha256:${HEX64.toUpperCase()}`, 'the sha256 repository name is reserved for image IDs'],
    [`docker-daemon:${HEX64}`, 'image ID'],
    ['docker-daemon:Busybox:1', 'must be lowercase'],
  ];
  for (const [input, reason] of invalid) {
    it(`rejects ${JSON.stringify(input)} (${reason})`, () => {
      const err = expectProxyError(() => parseImageName(input), 'invalid-reference');
      expect(err.message).to.include(JSON.stringify(input));
      expect(err.message).to.include(reason);
    });
  }

  for (const input of ['', 'busybox', 'foo:/bar', 'busybox:latest']) {
    it(`lists the supported transports when ${JSON.stringify(input)} names none`, () => {
      expect(expectProxyError(() => parseImageName(input), 'invalid-reference').message).to.include(SUPPORTED);
    });
  }

  const unsupported: ReadonlyArray<readonly [string, string]> = [
    ['sif:/images/x.sif', 'sif'],
    ['tarball:/x.tar', 'tarball'],
    ['ostree:/repo', 'ostree'],
  ];
  for (const [input, transport] of unsupported) {
    it(`refuses the known but unsupported ${transport} transport`, () => {
      const err = expectProxyError(() => parseImageName(input), 'unsupported-transport');
      expect(err.message).to.include(JSON.stringify(input));
      expect(err.message).to.include(`the ${transport} transport`);
      expect(err.message).to.include(SUPPORTED);
    });
  }
});
