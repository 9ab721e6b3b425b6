import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The files of a data directory. The root key material (`root.key` for the keyfile seal,
 * `root-key.json` for every seal) is 0600 and never leaves the machine except as a backup.
 * The `*.new`, `root-key.pending.json` and `root-key.lock` files exist only while a rekey or
 * a root key rotation runs (see src/app/root-key/README.md).
 */
export function dataDirPaths(dataDir: string) {
  return {
    rootKey: join(dataDir, 'root.key'),
    rootKeyDescriptor: join(dataDir, 'root-key.json'),
    database: join(dataDir, 'breakglass.db'),
  } as const;
}

/** A data dir is initialised once it has root key material: a descriptor, or (before seals) a key file. */
export function isInitialised(dataDir: string): boolean {
  const paths = dataDirPaths(dataDir);
  return existsSync(paths.rootKeyDescriptor) || existsSync(paths.rootKey);
}
