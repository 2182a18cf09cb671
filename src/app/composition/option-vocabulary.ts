/**
 * The adapters' vocabulary the command line parses into, handed over by the composition root so
 * that the driving side names no adapter: what a `--listen` address is and which hosts are
 * loopback (the HTTP server's), what a `--creds` value means (static credentials'), and what a
 * Docker engine endpoint is (the docker-daemon transport's).
 */
export { isLoopbackHost, type ListenAddress } from '../../adapters/http/listen-address.js';
export { parseCredsOption } from '../../adapters/credentials/static-credentials.js';
export type { EngineEndpoint } from '../../adapters/docker-daemon/engine-endpoint.js';
