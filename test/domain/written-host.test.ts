import { expect } from 'chai';
import { isProxyError } from '../../src/domain/errors.js';
import { parseUrlAsWritten, urlForHost } from '../../src/domain/written-host.js';

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    if (!isProxyError(err, 'invalid-reference') && !isProxyError(err, 'registry-error')) throw err;
    return err.message;
  }
  throw new Error('expected a refusal');
}

describe('written-host: URLs only for hosts as written', () => {
  const accepted: readonly (readonly [string, string])[] = [
    ['127.0.0.1:5000', 'https://127.0.0.1:5000/'],
    ['registry.example', 'https://registry.example/'],
    ['Registry.EXAMPLE:443', 'https://registry.example/'],
    ['localhost:5000', 'https://localhost:5000/'],
    ['[::1]:5000', 'https://[::1]:5000/'],
    ['[::ABCD]', 'https://[::abcd]/'],
    ['xn--bcher-kva.de', 'https://xn--bcher-kva.de/'],
    ['registry-1.docker.io', 'https://registry-1.docker.io/'],
  ];
  for (const [host, href] of accepted) {
    it(`builds a URL for ${host}`, () => expect(urlForHost('https', host, 'invalid-reference', 'registry').href).to.equal(href));
  }

  const refused: readonly (readonly [string, RegExp])[] = [
    ['2130706433:5000', /Node would contact "127\.0\.0\.1": a numeric IPv4 shorthand/],
    ['0x7f000001', /numeric IPv4 shorthand/],
    ['127.1', /numeric IPv4 shorthand/],
    ['0x7f.1', /numeric IPv4 shorthand/],
    ['017700000001', /numeric IPv4 shorthand/],
    ['0177.0.0.1', /numeric IPv4 shorthand/],
    ['127.0.0.1.', /numeric IPv4 shorthand/],
    ['[::ffff:127.0.0.1]', /"\[::ffff:7f00:1\]": an IPv6 address in a spelling other than its canonical one/],
    ['[0:0::1]:5000', /"\[::1\]"/],
    ['ex%61mple.com', /percent-encoding/],
    ['bücher.de', /"xn--bcher-kva\.de": non-ASCII characters/],
    ['\u212Aelvin.example', /"kelvin\.example": non-ASCII characters/],
    ['127.0.0.1:05000', /the port "05000" is not written as a decimal number without leading zeros/],
    ['1.2.3.4.5', /cannot parse it/],
    ['user@registry.example', /not a plain host/],
  ];
  for (const [host, reason] of refused) {
    it(`refuses ${host}`, () => {
      const message = refusal(() => urlForHost('https', host, 'invalid-reference', `registry ${host}`));
      expect(message)
        .to.include(`host ${JSON.stringify(host)} is refused`)
        .and.match(reason);
    });
  }

  const base = new URL('https://registry.example:5000/v2/app/blobs/x');
  it('follows a path relative to a checked base, and an absolute URL written plainly', () => {
    expect(parseUrlAsWritten('/elsewhere?sig=1', base, 'registry-error', 'redirect').href).to.equal('https://registry.example:5000/elsewhere?sig=1');
    expect(parseUrlAsWritten('HTTPS://CDN.example/blob', base, 'registry-error', 'redirect').href).to.equal('https://cdn.example/blob');
    expect(parseUrlAsWritten('//cdn.example:8443/blob', base, 'registry-error', 'redirect').href).to.equal('https://cdn.example:8443/blob');
    expect(parseUrlAsWritten('https://cdn.example:443/blob', undefined, 'registry-error', 'realm').href).to.equal('https://cdn.example/blob');
  });

  const rewritten = [
    'http://2130706433/x',
    '//0x7f.1:8080/x',
    'http:2130706433/x',
    'http:/2130706433/x',
    'http://2130\t706433/x',
    'http://u@p@2130706433/x',
    'https:\\\\2130706433\\x',
    ' https://2130706433/',
    'http://[0:0::1]/x',
    'http://h:0080/x',
  ];
  for (const text of rewritten) {
    it(`refuses the URL ${JSON.stringify(text)}`, () =>
      expect(refusal(() => parseUrlAsWritten(text, base, 'registry-error', 'redirect'))).to.include('is refused'));
  }

  it('never quotes userinfo or an unparsable URL', () => {
    expect(refusal(() => parseUrlAsWritten('http://user:s3cret@2130706433/x', undefined, 'registry-error', 'realm'))).to.not.include('s3cret');
    expect(refusal(() => parseUrlAsWritten('http://[s3cret/x', undefined, 'registry-error', 'realm'))).to.equal('realm: not a valid URL');
  });
});
