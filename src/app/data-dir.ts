import { join } from 'node:path';
import { hasRootKeyMaterial, materialFiles } from '../root-key/material-files.js';

/**
 * The files of a data directory. The root key material (`root.key` for the keyfile seal,
 * `root-key.json` for every seal) is 0600 and never leaves the machine except as a backup.
 * The `*.new`, `root-key.pending.json` and `root-key.lock` files exist only while a rekey or
 * a root key rotation runs (see src/root-key/README.md).
 */
export function dataDirPaths(dataDir: string) {
  return {
    rootKey: join(dataDir, materialFiles.keyFile),
    database: join(dataDir, 'breakglass.db'),
  } as const;
}

/** A data dir is initialised once it has root key material: a descriptor, or (before seals) a key file. */
export function isInitialised(dataDir: string): boolean {
  return hasRootKeyMaterial(dataDir);
}
