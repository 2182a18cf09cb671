import { expect } from 'chai';
import { ErrorCodes } from '../../src/domain/errors.js';
import { CLIENT_ERROR_CODES, PROXY_ERROR_CODES } from '../../src/client/index.js';

/**
 * src/client may not import the proxy's domain (it ships on its own), so it declares the codes
 * the proxy answers with itself: this keeps that copy equal to the catalogue.
 */
describe('TypeScript client: error codes', () => {
  it("declares exactly the proxy's error catalogue, in its order", () => {
    expect([...PROXY_ERROR_CODES]).to.deep.equal([...ErrorCodes]);
  });

  it('gives the failures the client detects itself codes the proxy never answers with', () => {
    expect(CLIENT_ERROR_CODES.filter((code) => (ErrorCodes as readonly string[]).includes(code))).to.deep.equal([]);
  });
});
