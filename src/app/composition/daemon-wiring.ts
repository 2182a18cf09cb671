import { ProxyError } from '../../domain/errors.js';
import { MAX_ENGINE_EXPORT_BYTES } from '../../domain/size-limits.js';
import { type Transport } from '../../ports/transport.js';
import { DEFAULT_DAEMON_OPTIONS, DEFAULT_REGISTRY_OPTIONS, type ProxyOptions } from './options.js';

/**
 * How long an engine may prepare an export before answering. dockerd streams it as it goes;
 * podman writes all of it to a file first (~2.5 s of ~3 s for 400 MB here), so the wait grows
 * with the image: 10 minutes covers the export limit at ~100 MB/s.
 */
const EXPORT_ANSWER_TIMEOUT_MS = 10 * 60_000;

/**
 * The docker-daemon: transport, talking to the engine the options name with the registry
 * timeouts. Loaded at its first open, so sessions without docker-daemon: images never load it.
 */
export function dockerDaemonTransportFor(options: ProxyOptions): Transport {
  let loading: Promise<Transport> | undefined;
  const transport = (): Promise<Transport> => (loading ??= loadDockerDaemonTransport(options));
  return { name: 'docker-daemon', open: async (reference, openOptions, signal) => (await transport()).open(reference, openOptions, signal) };
}

async function loadDockerDaemonTransport(options: ProxyOptions): Promise<Transport> {
  const [{ DockerDaemonTransport }, { DockerEngineApi }] = await Promise.all([
    import('../../adapters/docker-daemon/docker-daemon-transport.js'),
    import('../../adapters/docker-daemon/engine-api.js'),
  ]);
  const { endpoint } = options.daemon ?? DEFAULT_DAEMON_OPTIONS;
  if (endpoint.kind === 'invalid') {
    // Only docker-daemon: images fail; the rest of the session does not depend on $DOCKER_HOST.
    return new DockerDaemonTransport({ exportImage: () => Promise.reject(new ProxyError('config-invalid', endpoint.problem)) });
  }
  const registry = options.registry ?? DEFAULT_REGISTRY_OPTIONS;
  return new DockerDaemonTransport(
    new DockerEngineApi({
      endpoint,
      connectTimeoutMs: registry.connectTimeoutMs,
      answerTimeoutMs: Math.max(EXPORT_ANSWER_TIMEOUT_MS, registry.idleTimeoutMs),
      idleTimeoutMs: registry.idleTimeoutMs,
      maxExportBytes: MAX_ENGINE_EXPORT_BYTES,
    }),
  );
}
