/**
 * The hexagon's dependency rule, checked on every test run: domain ← ports ← adapters ← app,
 * nothing pointing the other way. Inside src/app, three rooms: the application core (the image
 * service and its use cases) sees only domain and ports; composition builds the graph of
 * adapters around the core; the driving side (command line, process control) starts it and
 * names no adapter, only what composition hands it.
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
      name: 'app-core-sees-domain-and-ports',
      comment: 'The image service and use cases work on ports; which adapter implements one, and who drives them, is not their business.',
      severity: 'error',
      from: { path: '^src/app/core' },
      to: { path: ['^src/adapters', '^src/app/(driving|composition|embed)', 'node_modules/(inversify|express|undici|reflect-metadata|smol-toml)'] },
    },
    {
      name: 'composition-is-not-driven-code',
      comment: 'Composition builds the graph from plain options; the command line and process control call it, never the reverse.',
      severity: 'error',
      from: { path: '^src/app/composition' },
      to: { path: ['^src/app/driving', '^src/app/embed'] },
    },
    {
      name: 'driving-names-no-adapter',
      comment: 'The command line and process control get adapters (and their vocabulary) through composition.',
      severity: 'error',
      from: { path: '^src/app/driving' },
      to: { path: ['^src/adapters', 'node_modules/(inversify|express|undici|reflect-metadata|smol-toml)'] },
    },
    {
      name: 'app-has-three-rooms',
      comment: 'Every app file lives in core, composition or driving; embed.ts is the package entry that gathers them.',
      severity: 'error',
      from: { path: '^src/app/[^/]+$', pathNot: '^src/app/embed[.]ts$' },
      to: {},
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
