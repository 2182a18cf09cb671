/**
 * Properties over what a registry answers besides manifests and blobs: error answers (a
 * distribution error body, Docker Hub's `details` form, or a Bearer challenge's verdict), read
 * from the body stream as the registry client reads them.
 */
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { registryError } from '../../src/adapters/distribution/registry-errors.js';
import { fuzzAsync, fuzzTimeout } from './fuzz-support.js';
import { hostileBytes, hostileJsonText, mutatedText, oddString } from './generators.js';

const ERROR_BODIES: unknown[] = [
  { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Tag: 'latest' } }] },
  {
    errors: [
      { code: 'DENIED', message: 'requested access to the resource is denied', detail: [{ Type: 'repository', Name: 'x', Action: 'pull' }] },
      { code: 'UNAUTHORIZED' },
    ],
  },
  { details: 'You have reached your pull rate limit.' },
];
const CHALLENGES = [
  'Bearer realm="https://auth.example/token",service="registry",error="invalid_token",error_description="expired"',
  'Bearer error="insufficient_scope", scope="repository:a:pull"',
];

describe('fuzz: registry answers', function () {
  this.timeout(fuzzTimeout());

  it('error answers: status, WWW-Authenticate and body', async () => {
    const answer = fc.record({
      status: fc.constantFrom(400, 401, 403, 404, 405, 429, 500, 502, 503),
      challenge: fc.option(fc.oneof(mutatedText(CHALLENGES), oddString), { nil: undefined }),
      body: hostileBytes(hostileJsonText(ERROR_BODIES)),
      kind: fc.constantFrom('manifest' as const, 'blob' as const, 'token' as const, 'ping' as const, 'other' as const),
    });
    await fuzzAsync(answer, async ({ status, challenge, body, kind }) => {
      const headers = challenge === undefined ? {} : { 'www-authenticate': challenge };
      const error = await registryError({ statusCode: status, headers, body: Readable.from([Buffer.from(body)]) }, 'registry.example', 'manifest x/y:1', kind);
      // registryError returns the error to throw: throwing it is what callers do.
      throw error;
    });
  });
});
