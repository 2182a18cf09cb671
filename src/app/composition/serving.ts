/**
 * The driving adapters process control runs: the HTTP server (inherited sockets or a listening
 * address), its request log and the log lines on stderr. Named here so that the command line and
 * process control name no adapter; loaded only when the proxy serves, the light ones first, so
 * help, version and usage errors stay fast and a bad standard input is refused before express loads.
 */
export async function loadSocketServing() {
  const [{ isSocketFd, serveInheritedSockets }, { messageLogLine, withRequestLog }] = await Promise.all([
    import('../../adapters/http/serve.js'),
    import('../../adapters/http/request-log.js'),
  ]);
  return { isSocketFd, serveInheritedSockets, messageLogLine, withRequestLog };
}

export async function loadImageServer() {
  const [{ createImageApp, isLoopbackHost, listenOn }, { StreamLog }] = await Promise.all([
    import('../../adapters/http/index.js'),
    import('../../adapters/log/stream-log.js'),
  ]);
  return { createImageApp, isLoopbackHost, listenOn, StreamLog };
}
