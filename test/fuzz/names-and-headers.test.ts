/**
 * Properties over the parsers of short untrusted strings: image names (from the command line,
 * `?image=`, registries.conf and signatures), digests, Content-Type and WWW-Authenticate headers
 * and Retry-After. Each returns a value or throws a ProxyError, never anything else.
 */
import fc from 'fast-check';
import { parseDigest } from '../../src/domain/digest.js';
import { normalizeManifestMediaType } from '../../src/domain/manifest.js';
import { formatImageName, isShortName, parseCanonicalDockerReference, parseDockerReference, parseImageName } from '../../src/domain/reference.js';
import { parseRetryAfter } from '../../src/adapters/distribution/retry-after.js';
import { parseChallenges, usableChallenge } from '../../src/adapters/distribution/www-authenticate.js';
import { fuzz, fuzzTimeout } from './fuzz-support.js';
import { mutatedText, oddString } from './generators.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const IMAGE_NAMES = [
  'docker://quay.io/ns/repo:tag',
  `docker://registry.example.com:5000/a/b/c@${DIGEST}`,
  `docker://alpine:3.20@${DIGEST}`,
  'docker://[::1]:5000/repo:latest',
  'docker://localhost/library/busybox',
  'oci:/srv/layouts/app:1.0',
  'oci:relative/layout@2',
  'oci:/layout:name:with:colons',
  'dir:/var/images/app',
  'oci-archive:/tmp/app.tar:v1',
  'docker-archive:/tmp/save.tar:quay.io/x/y:1',
  'docker-archive:/tmp/save.tar:@0',
  'containers-storage:[overlay@/var/lib]busybox',
];
const DOCKER_NAMES = [
  'busybox',
  'quay.io/ns/repo:tag',
  `reg:5000/a/b@${DIGEST}`,
  `docker.io/library/alpine:3@${DIGEST}`,
  '127.0.0.1:5000/x',
  'a.b/c_d__e/f-g:h.i',
];
const CHALLENGES = [
  'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
  'Basic realm="Registry Realm"',
  'Bearer realm="https://a/t", error="insufficient_scope", scope="repository:x:pull,push", Basic realm="x"',
  'Negotiate, Bearer realm="https://a\\"b/t"',
];
const CONTENT_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json; charset=utf-8',
  'application/json',
  'text/plain; a="b\\"c"; d=e',
];

describe('fuzz: names and headers', function () {
  this.timeout(fuzzTimeout());

  it('image names: parseImageName, and formatImageName of what parses', () => {
    fuzz(fc.oneof(mutatedText(IMAGE_NAMES), oddString), (name) => formatImageName(parseImageName(name)));
  });
  it('docker references: plain, canonical and short-name checks', () => {
    fuzz(fc.oneof(mutatedText(DOCKER_NAMES), oddString), (name) => {
      isShortName(name);
      parseCanonicalDockerReference(name);
      return parseDockerReference(name);
    });
  });
  it('digests', () => {
    fuzz(mutatedText([DIGEST, `sha512:${'0'.repeat(128)}`, `sha384:${'f'.repeat(96)}`]), parseDigest);
  });
  it('Content-Type of manifests', () => {
    fuzz(fc.oneof(mutatedText(CONTENT_TYPES), oddString), normalizeManifestMediaType);
  });
  it('WWW-Authenticate: one or several header lines', () => {
    fuzz(fc.array(fc.oneof(mutatedText(CHALLENGES), oddString), { maxLength: 3 }), (lines) => usableChallenge(parseChallenges(lines)));
  });
  it('Retry-After', () => {
    fuzz(fc.oneof(mutatedText(['120', 'Wed, 21 Oct 2015 07:28:00 GMT', '0']), oddString), (value) => parseRetryAfter(value, Date.now()));
  });
});
