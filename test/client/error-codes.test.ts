import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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

/** The Rust crate keeps its own table (`KNOWN_CODES` in clients/rust/src/error.rs) for the same reason. */
describe('Rust client: error codes', () => {
  it("knows exactly the proxy's error catalogue, in its order", () => {
    const source = readFileSync(fileURLToPath(new URL('../../../clients/rust/src/error.rs', import.meta.url)), 'utf8');
    const table = /const KNOWN_CODES[^=]*= &\[([\s\S]*?)\];/.exec(source);
    expect(table, 'KNOWN_CODES in clients/rust/src/error.rs').to.not.equal(null);
    const codes = [...table![1]!.matchAll(/\("([a-z-]+)", ErrorCode::/g)].map((match) => match[1]);
    expect(codes).to.deep.equal([...ErrorCodes]);
  });
});
