import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * The bench build keeps the source layout under dist-bench/ (rootDir "."), so the server's
 * `new URL('../../package.json', import.meta.url)` in src/app/server.ts resolves to
 * dist-bench/package.json instead of the project's. Give the build one, with the project's
 * version and module type, before anything imports the server.
 */
export function ensureBuildLayout(): void {
  const outRoot = new URL('../../', import.meta.url);
  const built = new URL('src/app/server.js', outRoot);
  const target = new URL('package.json', outRoot);
  if (!existsSync(built) || existsSync(target)) return;
  const project = JSON.parse(readFileSync(new URL('../package.json', outRoot), 'utf8')) as { version: string };
  const manifest = { name: 'breakglass-bench-build', private: true, type: 'module', version: project.version };
  writeFileSync(target, `${JSON.stringify(manifest, null, 2)}\n`);
}
