import { type SignaturePolicy } from '../../ports/signature-policy.js';
import { DEFAULT_REGISTRY_OPTIONS, type ProxyOptions } from './options.js';

/**
 * policy.json with its collaborators: registries.d (where signatures live) and a lookaside
 * reader on its own dispatcher. Both files are read before anything is served, so a broken
 * configuration stops the proxy at start-up. The adapters are imported here rather than at the
 * top: `--insecure-policy` needs none of the policy, signature and lookaside code.
 */
export async function signaturePolicyFor(options: ProxyOptions): Promise<SignaturePolicy> {
  const { InsecureAcceptAnythingPolicy, PolicyJsonSignaturePolicy } = await import('../../adapters/policy-json/policy-json-signature-policy.js');
  if (options.insecurePolicy) return new InsecureAcceptAnythingPolicy();
  const [{ loadPolicy }, { RegistriesDirectory }, { LookasideReader }, { SignatureFinder }, { createRegistryAgent }] = await Promise.all([
    import('../../adapters/policy-json/load-policy.js'),
    import('../../adapters/registries-d/registries-d.js'),
    import('../../adapters/lookaside/lookaside-reader.js'),
    import('../../adapters/policy-json/signature-finder.js'),
    import('../../adapters/distribution/dispatchers.js'),
  ]);
  const policy = await loadPolicy(options.policyPath, options.homeDir);
  const registriesD = await RegistriesDirectory.load({ explicitDir: options.registriesDir, homeDir: options.homeDir, isRoot: (options.uid ?? 0) === 0 });
  const registry = options.registry ?? DEFAULT_REGISTRY_OPTIONS;
  const lookaside = new LookasideReader({ dispatcher: createRegistryAgent({ connectMs: registry.connectTimeoutMs }), idleMs: registry.idleTimeoutMs });
  return new PolicyJsonSignaturePolicy({ policy, signatures: new SignatureFinder({ registriesD, lookaside }) });
}
