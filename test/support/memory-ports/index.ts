/**
 * In-memory implementations of the ports, for tests of the use cases and for embedders' tests
 * that swap adapters: a Transport holding images, registries.conf from a string, a signature
 * policy decided by a function, a Log that records. Each is a real object implementing its
 * port; the Transport runs the transport contract suite like every adapter.
 */
export { MemoryTransport, type OpenRecord } from './memory-transport.js';
export { MemoryRegistriesConfig } from './memory-registries-config.js';
export { MemorySignaturePolicy, type PolicyRule } from './memory-signature-policy.js';
export { RecordingLog, type LogRecord } from './recording-log.js';
