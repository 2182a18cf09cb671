import { expect } from 'chai';
import { Agent } from 'undici';
import { fetchRegistryToken } from '../../../src/adapters/distribution/registry-token.js';
import { baseSend } from '../../../src/adapters/distribution/http.js';
import { type Credentials } from '../../../src/ports/credential-store.js';
import { SILENT_LOG } from '../../../src/ports/log.js';
import { FakeRegistry, faults, registryErrorBody } from '../../support/fake-registry.js';
import { REPO, collect, dockerRef, expectCode, makeTransport, storeImage } from './helpers.js';

describe('distribution: authentication', function () {
  let registry: FakeRegistry;
  let cleanups: (() => Promise<void>)[];

  beforeEach(async () => {
    registry = await FakeRegistry.start();
    cleanups = [];
  });
  afterEach(async () => {
    await Promise.all(cleanups.map((c) => c()));
    await registry.close();
  });

  function transport(creds?: Credentials): ReturnType<typeof makeTransport>['transport'] {
    const made = makeTransport({ creds });
    cleanups.push(made.cleanup);
    return made.transport;
  }

  const manifestRequests = (): ReturnType<FakeRegistry['requestsTo']> => registry.requestsTo(/\/manifests\//);
  const tokenRequests = (): ReturnType<FakeRegistry['requestsTo']> => registry.requestsTo(/^\/token$/);

  describe('Basic', () => {
    const cases: readonly [string, Credentials | undefined, string][] = [
      ['username and password', { username: 'alice', password: 's3cret' }, `Basic ${Buffer.from('alice:s3cret').toString('base64')}`],
      ['empty credentials (Basic Og==)', undefined, 'Basic Og=='],
    ];
    for (const [what, creds, header] of cases) {
      it(`sends ${what}`, async () => {
        registry.auth = creds ? { kind: 'basic', username: creds.username!, password: creds.password! } : { kind: 'basic', username: '', password: '' };
        storeImage(registry);
        await transport(creds).open(dockerRef(registry), {});
        expect(manifestRequests().map((r) => r.headers.authorization)).to.deep.equal([header]);
        expect(registry.requestsTo(/^\/v2\/$/).map((r) => r.headers.authorization)).to.deep.equal([undefined]);
      });
    }

    it('reports wrong credentials as unauthorized, without the password', async () => {
      registry.auth = { kind: 'basic', username: 'alice', password: 'right' };
      storeImage(registry);
      const err = await expectCode(transport({ username: 'alice', password: 'wrong-pass' }).open(dockerRef(registry), {}), 'unauthorized');
      expect(err.message).to.not.include('wrong-pass');
      expect((err as { upstreamCode?: string }).upstreamCode).to.equal('UNAUTHORIZED');
    });
  });

  describe('Bearer', () => {
    it('fetches an anonymous token for the pull scope and service, with no Authorization', async () => {
      registry.auth = { kind: 'bearer', service: 'fake-svc' };
      storeImage(registry);
      await transport().open(dockerRef(registry), {});
      const [tokenRequest, ...more] = tokenRequests();
      expect(more).to.have.length(0);
      expect(tokenRequest!.method).to.equal('GET');
      expect(tokenRequest!.headers.authorization).to.equal(undefined);
      expect(tokenRequest!.url).to.equal(`/token?scope=${encodeURIComponent(`repository:${REPO}:pull`)}&service=fake-svc`);
      expect(manifestRequests().map((r) => r.headers.authorization)).to.deep.equal(['Bearer token-1']);
    });

    it('sends username and password as Basic auth to the token endpoint, with account=', async () => {
      registry.auth = { kind: 'bearer', service: 'svc', users: { bob: 'pw' } };
      storeImage(registry);
      await transport({ username: 'bob', password: 'pw' }).open(dockerRef(registry), {});
      const [tokenRequest] = tokenRequests();
      expect(tokenRequest!.headers.authorization).to.equal(`Basic ${Buffer.from('bob:pw').toString('base64')}`);
      expect(new URL(tokenRequest!.url, registry.url).searchParams.get('account')).to.equal('bob');
    });

    it('reports a 401 from the token endpoint as invalid username/password, never echoing it', async () => {
      registry.auth = { kind: 'bearer', service: 'svc', users: { bob: 'pw' } };
      storeImage(registry);
      const err = await expectCode(transport({ username: 'bob', password: 'hunter2-secret' }).open(dockerRef(registry), {}), 'unauthorized');
      expect(err.message).to.include('invalid username/password');
      expect(err.message).to.not.include('hunter2-secret');
    });

    it('trades an identity token with an OAuth2 refresh-token POST', async () => {
      registry.auth = { kind: 'bearer', service: 'svc', refreshTokens: ['refresh-abc'] };
      storeImage(registry);
      await transport({ username: 'ignored', password: '', identityToken: 'refresh-abc' }).open(dockerRef(registry), {});
      const [tokenRequest] = tokenRequests();
      expect(tokenRequest!.method).to.equal('POST');
      expect(tokenRequest!.headers['content-type']).to.equal('application/x-www-form-urlencoded');
      const form = new URLSearchParams(tokenRequest!.body);
      expect(Object.fromEntries(form)).to.deep.equal({
        client_id: 'containers/image',
        grant_type: 'refresh_token',
        refresh_token: 'refresh-abc',
        scope: `repository:${REPO}:pull`,
        service: 'svc',
      });
      expect(manifestRequests()[0]!.headers.authorization).to.equal('Bearer token-1');
    });

    it('accepts access_token when token is absent', async () => {
      registry.auth = { kind: 'bearer', service: 'svc', accessTokenField: true };
      storeImage(registry);
      await transport().open(dockerRef(registry), {});
      expect(manifestRequests()[0]!.headers.authorization).to.equal('Bearer token-1');
    });

    it('sends a registry token as the bearer directly, without asking the realm', async () => {
      registry.auth = { kind: 'bearer', service: 'svc' };
      registry.issuedTokens.set('given-token', [`repository:${REPO}:pull`]);
      storeImage(registry);
      await transport({ registryToken: 'given-token' }).open(dockerRef(registry), {});
      expect(tokenRequests()).to.have.length(0);
      expect(manifestRequests()[0]!.headers.authorization).to.equal('Bearer given-token');
    });

    it('shares one token request among concurrent blob fetches', async () => {
      registry.auth = { kind: 'bearer', service: 'svc', tokenDelayMs: 50 };
      const { layer } = storeImage(registry);
      const t = transport();
      const sources = await Promise.all([1, 2, 3].map(() => t.open(dockerRef(registry), {})));
      const bodies = await Promise.all(sources.flatMap((s) => [1, 2, 3, 4].map(() => s.blob({ digest: layer }))));
      await Promise.all(bodies.map((b) => collect(b.stream)));
      expect(bodies).to.have.length(12);
      expect(tokenRequests()).to.have.length(1);
    });

    it('clamps expires_in below 60 s to 60 s', async () => {
      registry.auth = { kind: 'bearer', service: 'svc', expiresIn: 5 };
      const agent = new Agent();
      cleanups.push(() => agent.close());
      const send = baseSend({ dispatcherFor: async () => agent, userAgent: 'test', limits: { connectMs: 1000, idleMs: 1000 }, log: SILENT_LOG });
      const now = Date.parse('2026-01-01T00:00:00Z');
      const token = await fetchRegistryToken(
        send,
        { realm: `${registry.url}/token`, service: 'svc', scopes: ['repository:x:pull'], credentials: undefined, registry: registry.host, insecure: true },
        () => now,
      );
      expect(token).to.deep.equal({ token: 'token-1', expiresAt: now + 60_000 });
    });

    it('retries once with the extra scope on insufficient_scope', async () => {
      registry.auth = { kind: 'bearer', service: 'svc' };
      storeImage(registry);
      const extra = 'repository:other/repo:pull';
      registry.inject(
        (r) => r.url.includes('/manifests/') && r.headers.authorization === 'Bearer token-1',
        faults.status(401, registryErrorBody('DENIED', 'needs more'), {
          'www-authenticate': `Bearer realm="${registry.url}/token",service="svc",error="insufficient_scope",scope="${extra}"`,
        }),
      );
      await transport().open(dockerRef(registry), {});
      const scopes = tokenRequests().map((r) => new URL(r.url, registry.url).searchParams.getAll('scope'));
      expect(scopes).to.deep.equal([[`repository:${REPO}:pull`], [extra, `repository:${REPO}:pull`].sort()]);
      expect(manifestRequests().map((r) => r.headers.authorization)).to.deep.equal(['Bearer token-1', 'Bearer token-2']);
    });

    it('does not retry a second insufficient_scope, nor a plain 401', async () => {
      registry.auth = { kind: 'bearer', service: 'svc' };
      storeImage(registry);
      const challenge = { 'www-authenticate': `Bearer realm="${registry.url}/token",error="insufficient_scope",scope="repository:x:pull"` };
      registry.inject((r) => r.url.includes('/manifests/'), faults.status(401, registryErrorBody('DENIED', 'no'), challenge), 2);
      const err = await expectCode(transport().open(dockerRef(registry), {}), 'denied');
      expect(manifestRequests()).to.have.length(2);
      expect((err as { upstreamCode?: string }).upstreamCode).to.equal('DENIED');

      registry.inject((r) => r.url.includes('/manifests/'), faults.status(401, registryErrorBody('UNAUTHORIZED', 'no')));
      await expectCode(transport().open(dockerRef(registry), {}), 'unauthorized');
      expect(manifestRequests()).to.have.length(3);
    });

    it('reports a refused identity token as unauthorized, without the token', async () => {
      registry.auth = { kind: 'bearer', service: 'svc', refreshTokens: [] };
      storeImage(registry);
      const err = await expectCode(transport({ identityToken: 'refresh-SECRET-xyz' }).open(dockerRef(registry), {}), 'unauthorized');
      expect(err.message).to.not.include('SECRET');
    });
  });
});
