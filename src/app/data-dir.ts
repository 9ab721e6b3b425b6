import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The files of a data directory. The root key file is 0600 and never leaves the machine. */
export function dataDirPaths(dataDir: string) {
  return {
    rootKey: join(dataDir, 'root.key'),
    database: join(dataDir, 'breakglass.db'),
  } as const;
}

export function isInitialised(dataDir: string): boolean {
  return existsSync(dataDirPaths(dataDir).rootKey);
}
