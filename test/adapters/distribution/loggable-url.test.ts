import { expect } from 'chai';
import { loggableUrl } from '../../../src/adapters/distribution/loggable-url.js';

describe('distribution: URLs as logs show them', () => {
  const cases: readonly [string, string, string][] = [
    ['a plain path', 'https://quay.io/v2/org/app/manifests/1', 'https://quay.io/v2/org/app/manifests/1'],
    ['user info dropped', 'https://me:s3cret@quay.io/v2/', 'https://quay.io/v2/'],
    [
      'an object-storage redirect: signature and credential hidden',
      'https://bucket.s3.example.com/blob?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=abcdef0123&X-Amz-Expires=600',
      'https://bucket.s3.example.com/blob?X-Amz-Credential=redacted&X-Amz-Signature=redacted&X-Amz-Expires=redacted',
    ],
    [
      'a token request: scope and service kept, account hidden',
      'https://auth.example.com/token?account=alice&scope=repository%3Aorg%2Fapp%3Apull&service=registry.example.com',
      'https://auth.example.com/token?account=redacted&scope=repository%3Aorg%2Fapp%3Apull&service=registry.example.com',
    ],
  ];
  for (const [what, url, shown] of cases) {
    it(what, () => expect(loggableUrl(new URL(url))).to.equal(shown));
  }
});
