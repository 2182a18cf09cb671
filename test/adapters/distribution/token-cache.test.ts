import { expect } from 'chai';
import { TokenCache } from '../../../src/adapters/distribution/token-cache.js';

describe('distribution: token cache', () => {
  it('reuses a token until it expires, then fetches a new one', async () => {
    let now = 1000;
    const cache = new TokenCache(() => now);
    let fetches = 0;
    const fetch = async (): Promise<{ token: string; expiresAt: number }> => ({ token: `t${++fetches}`, expiresAt: now + 60_000 });
    expect(await cache.get('scope-a', fetch)).to.equal('t1');
    now += 59_999;
    expect(await cache.get('scope-a', fetch)).to.equal('t1');
    now += 1;
    expect(await cache.get('scope-a', fetch)).to.equal('t2');
    expect(await cache.get('scope-b', fetch)).to.equal('t3');
  });

  it('shares one in-flight fetch and forgets a failed one', async () => {
    const cache = new TokenCache();
    let fetches = 0;
    let fail = true;
    const fetch = async (): Promise<{ token: string; expiresAt: number }> => {
      fetches++;
      await new Promise((resolve) => setTimeout(resolve, 10));
      if (fail) throw new Error('realm down');
      return { token: 'ok', expiresAt: Date.now() + 60_000 };
    };
    const results = await Promise.allSettled([1, 2, 3].map(() => cache.get('k', fetch)));
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected', 'rejected']);
    expect(fetches).to.equal(1);
    fail = false;
    expect(await cache.get('k', fetch)).to.equal('ok');
    expect(fetches).to.equal(2);
  });

  it('a waiter that gives up stops only its own wait; the fetch stops when the last one goes', async () => {
    const cache = new TokenCache();
    let fetchSignal: AbortSignal | undefined;
    const fetch = (signal: AbortSignal): Promise<{ token: string; expiresAt: number }> => {
      fetchSignal = signal;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => resolve({ token: 'late', expiresAt: Date.now() + 60_000 }), 50);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(signal.reason as Error);
        });
      });
    };
    const [first, second] = [new AbortController(), new AbortController()];
    const waits = [cache.get('k', fetch, first.signal), cache.get('k', fetch, second.signal)];
    first.abort(new Error('first client gone'));
    expect(
      await waits[0]!.then(
        () => 'resolved',
        (err: Error) => err.message,
      ),
    ).to.equal('first client gone');
    expect(fetchSignal!.aborted, 'another still waits').to.equal(false);
    second.abort(new Error('second client gone'));
    expect(
      await waits[1]!.then(
        () => 'resolved',
        (err: Error) => err.message,
      ),
    ).to.equal('second client gone');
    expect(fetchSignal!.aborted, 'nobody waits any more').to.equal(true);
    expect(await cache.get('k', fetch), 'the next request starts afresh').to.equal('late');
  });
});
