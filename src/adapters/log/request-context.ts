import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The client request being served, carried along the async calls it causes (image resolution,
 * token fetches, registry requests) so each upstream event names the request it serves without
 * any port or use case passing an id around. Set at the HTTP edge, read by the log adapter.
 */
const current = new AsyncLocalStorage<number>();
let counter = 0;

/** Runs `serve` as a new client request with the next id; returns that id. */
export function asNewRequest(serve: () => void): number {
  const id = ++counter;
  current.run(id, serve);
  return id;
}

export function currentRequestId(): number | undefined {
  return current.getStore();
}
