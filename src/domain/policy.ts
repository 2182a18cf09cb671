import { ProxyError } from './errors.js';

/**
 * policy.json (containers-policy.json(5)) as data, and the scope lookup. Requirement types
 * are kept open-ended here: which ones can be *evaluated* is the policy adapter's business,
 * and an unknown one is never silently accepted.
 */
export interface PolicyRequirement {
  readonly type: string;
  readonly [key: string]: unknown;
}

export interface PolicyDocument {
  /** Where it was read from, for messages. */
  readonly source: string;
  readonly default: readonly PolicyRequirement[];
  readonly transports: Readonly<Record<string, Readonly<Record<string, readonly PolicyRequirement[]>>>>;
}

export function parsePolicy(text: string, source: string): PolicyDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ProxyError('policy-invalid', `${source}: invalid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isObject(raw)) throw new ProxyError('policy-invalid', `${source}: the top level must be a JSON object`);
  for (const key of Object.keys(raw)) {
    if (key !== 'default' && key !== 'transports') throw new ProxyError('policy-invalid', `${source}: unknown key ${JSON.stringify(key)}`);
  }
  if (!('default' in raw)) throw new ProxyError('policy-invalid', `${source}: "default" is missing`);
  const transports: Record<string, Record<string, readonly PolicyRequirement[]>> = {};
  if (raw['transports'] !== undefined) {
    if (!isObject(raw['transports'])) throw new ProxyError('policy-invalid', `${source}: "transports" must be an object`);
    for (const [transport, scopes] of Object.entries(raw['transports'])) {
      if (!isObject(scopes)) throw new ProxyError('policy-invalid', `${source}: transports.${transport} must be an object`);
      transports[transport] = {};
      for (const [scope, requirements] of Object.entries(scopes)) {
        transports[transport][scope] = requirementList(requirements, `${source}: transports.${transport}[${JSON.stringify(scope)}]`);
      }
    }
  }
  return { source, default: requirementList(raw['default'], `${source}: "default"`), transports };
}

/**
 * containers/image's requirementsForImageRef: the exact identity, then each namespace from the
 * most specific, then the transport's "" scope, then the global default.
 */
export function requirementsFor(policy: PolicyDocument, transport: string, identity: string, namespaces: readonly string[]): readonly PolicyRequirement[] {
  const scopes = policy.transports[transport];
  if (scopes) {
    for (const scope of [identity, ...namespaces, '']) {
      const found = Object.hasOwn(scopes, scope) ? scopes[scope] : undefined;
      if (found) return found;
    }
  }
  return policy.default;
}

function requirementList(value: unknown, where: string): PolicyRequirement[] {
  if (!Array.isArray(value)) throw new ProxyError('policy-invalid', `${where} must be an array of requirements`);
  if (value.length === 0) throw new ProxyError('policy-invalid', `${where} must not be empty`);
  return value.map((entry, i) => {
    if (!isObject(entry) || typeof entry['type'] !== 'string') {
      throw new ProxyError('policy-invalid', `${where}[${i}] must be an object with a string "type"`);
    }
    return entry as PolicyRequirement;
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
