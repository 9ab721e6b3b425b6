/**
 * The import direction of DESIGN.md §5. A module may import only what its layer allows;
 * only src/app wires concrete implementations together.
 */
const layer = (name) => `^src/${name}/`;
/** Only the layers in `users` (and `name` itself) may import src/<name>. */
const usedOnlyBy = (name, users) => ({
  name: `${name}-used-only-by-${users.join('-')}`,
  severity: 'error',
  comment: `only ${users.map((user) => `src/${user}`).join(', ')} may import src/${name}`,
  from: { path: '^src/', pathNot: [layer(name), ...users.map(layer)] },
  to: { path: layer(name) },
});
const only = (from, allowed) => ({
  name: `${from}-imports-only-${allowed.join('-') || 'nothing'}`,
  severity: 'error',
  comment: `src/${from} may import only: ${allowed.join(', ') || 'nothing of ours'}`,
  from: { path: layer(from) },
  to: {
    path: '^src/',
    pathNot: [layer(from), ...allowed.map(layer)],
  },
});

module.exports = {
  forbidden: [
    only('domain', ['errors']),
    only('errors', []),
    only('crypto', ['errors']),
    only('ports', ['domain', 'errors']),
    // config builds the catalog schema from the connectors' specs; the CLI loads config to check
    // catalog files offline, so nothing else of src/connectors (no driver library) may come in.
    {
      name: 'config-imports-only-domain-errors-connector-specs',
      severity: 'error',
      comment: 'src/config may import only: domain, errors, src/connectors/specs.ts and the connectors\' *-spec.ts files',
      from: { path: layer('config') },
      to: {
        path: '^src/',
        pathNot: [layer('config'), layer('domain'), layer('errors'), '^src/connectors/specs\\.ts$', '^src/connectors/[^/]+/[^/]+-spec\\.ts$'],
      },
    },
    only('modules', ['domain', 'ports', 'crypto', 'errors', 'config']),
    only('store', ['ports', 'domain', 'errors']),
    // crypto: connectors make up secrets with the one generator the vault uses
    // (src/connectors/lib/passwords.ts), valid on every target type.
    only('connectors', ['ports', 'domain', 'errors', 'crypto']),
    only('notify', ['ports', 'domain', 'errors']),
    only('journal', ['ports', 'domain', 'errors']),
    only('scheduler', ['modules', 'ports', 'domain', 'errors']),
    // The contract of the HTTP API: one schema per request and answer, shared by the server
    // (validation, OpenAPI) and the CLI (answers, read tolerantly). ports: the seal modes.
    only('api', ['domain', 'errors', 'config', 'ports']),
    only('http', ['api', 'modules', 'ports', 'domain', 'errors', 'config']),
    // crypto: `breakglass kit open` must work when the server is down (DESIGN.md §3, offline
    // kit), so the CLI rebuilds the account key from custodian shares and opens the sealed
    // credential itself, with the same src/crypto primitives the server uses.
    only('cli', ['api', 'config', 'domain', 'errors', 'crypto']),
    // modules: a rekey or rotation writes its audit event with the audit log, rewraps values
    // with the vault's associated data, and logs unseal shares with the use cases' Logger. The
    // store it changes is handed in (a port); the sealed server's HTTP listener stays in app.
    only('root-key', ['crypto', 'ports', 'domain', 'errors', 'modules']),
    // Root key material is opened and replaced only by the composition root (server start,
    // init, the operator commands it injects into the CLI).
    usedOnlyBy('root-key', ['app']),
    // A spec says what a connector accepts; it is loaded by the CLI, so it stays dependency-light.
    {
      name: 'connector-specs-import-only-zod-domain-errors',
      severity: 'error',
      comment: 'src/connectors/*/*-spec.ts may import only zod, src/domain, src/errors and other spec files',
      from: { path: '^src/connectors/[^/]+/[^/]+-spec\\.ts$' },
      to: {
        pathNot: [layer('domain'), layer('errors'), '^src/connectors/[^/]+/[^/]+-spec\\.ts$', '(^|/)node_modules/zod/'],
      },
    },
    // The registry names each connector once: its spec eagerly, its driver only through a lazy
    // import(), so loading the registry (the CLI does, through config) loads no driver library.
    {
      name: 'connector-registry-loads-drivers-lazily',
      severity: 'error',
      comment: 'src/connectors/specs.ts imports spec files (and port types); drivers only with a dynamic import()',
      from: { path: '^src/connectors/specs\\.ts$' },
      to: {
        pathNot: [layer('domain'), layer('errors'), '^src/connectors/[^/]+/[^/]+-spec\\.ts$', '^src/connectors/lib/connector-spec\\.ts$', '(^|/)node_modules/zod/'],
        dependencyTypesNot: ['dynamic-import', 'type-only'],
      },
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
    exclude: { path: '\\.test\\.ts$' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
