export { createImageApp } from './image-app.js';
export { type ServerHooks } from './server-hooks.js';
export { type ErrorBody } from './error-response.js';
export { STATUS_FOR_CODE, statusForCode } from './error-status.js';
export { isLoopbackHost, type ListenAddress } from './listen-address.js';
export { type InheritedConnections, isSocketFd, listenOn, type ListeningServer, serveInheritedSockets } from './serve.js';
export { DEFAULT_HEADERS_TIMEOUT_MS } from './sidecar-server.js';
