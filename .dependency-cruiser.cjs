/**
 * The hexagon's dependency rule, checked on every test run: domain ← ports ← adapters ← app,
 * nothing pointing the other way.
 */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'src/domain holds pure types and functions: no ports, adapters, app code or frameworks.',
      severity: 'error',
      from: { path: '^src/domain' },
      to: { path: ['^src/(ports|adapters|app)', 'node_modules/(inversify|express|undici|reflect-metadata|smol-toml)'] },
    },
    {
      name: 'ports-see-only-domain',
      comment: 'Ports are interfaces in domain types.',
      severity: 'error',
      from: { path: '^src/ports' },
      to: { path: ['^src/(adapters|app)', 'node_modules/(inversify|express|undici|reflect-metadata|smol-toml)'] },
    },
    {
      name: 'adapters-do-not-reach-into-app',
      comment: 'Adapters implement ports; the app wires them, never the reverse.',
      severity: 'error',
      from: { path: '^src/adapters' },
      to: { path: '^src/app' },
    },
    {
      name: 'client-stands-alone',
      comment: 'src/client is the library users import: Node and undici only, none of the proxy itself.',
      severity: 'error',
      from: { path: '^src/client' },
      to: { path: '^src/(app|adapters|ports)' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
