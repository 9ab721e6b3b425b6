import { randomUUID } from 'node:crypto';
import { chmodSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../errors/index.js';
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
    instanceId: join(dataDir, 'instance-id'),
    /** Revocations done while the store could not be written, until the chain has them. */
    revocationJournal: join(dataDir, 'revocation-journal'),
  } as const;
}

/**
 * Who this server is across restarts: an id made once and kept in the data directory, with the
 * host and directory it was made for. Job leases are held as `<instance id>/<run>`, so a
 * restarted server recognises the leases its previous run died holding and takes them back at
 * once (src/scheduler). A data directory copied to another host or path (the HA setup copies
 * the root key) gets an identity of its own there, so two live instances never share one.
 *
 * @example instanceIdentity('/var/lib/breakglass') // → 'inst-5f0c…' (the same after a restart)
 */
export function instanceIdentity(dataDir: string): string {
  const path = dataDirPaths(dataDir).instanceId;
  const place = { host: hostname(), dir: realpathSync(dataDir) };
  try {
    const stored = JSON.parse(readFileSync(path, 'utf8')) as { id?: unknown; host?: unknown; dir?: unknown };
    if (typeof stored.id === 'string' && /^inst-[0-9a-f-]{36}$/.test(stored.id) && stored.host === place.host && stored.dir === place.dir) return stored.id;
  } catch (error) {
    // Missing or unreadable as JSON: make a new one below; anything else is a real problem.
    if (!(error instanceof SyntaxError) && (error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const id = `inst-${randomUUID()}`;
  writeFileSync(path, `${JSON.stringify({ id, ...place })}\n`, { mode: 0o600 });
  return id;
}

/** A data dir is initialised once it has root key material: a descriptor, or (before seals) a key file. */
export function isInitialised(dataDir: string): boolean {
  return hasRootKeyMaterial(dataDir);
}

/** The files of a data directory that only the server's user may read: the database (with its journal files) and the root key material. */
function privateFiles(dataDir: string): string[] {
  const database = dataDirPaths(dataDir).database;
  return [database, `${database}-wal`, `${database}-shm`, ...Object.values(materialFiles).map((name) => join(dataDir, name))];
}

/**
 * Forces the data directory to 0700 and its database and key files to 0600, so another local
 * user can read neither the sealed secrets nor the audit chain (nor the root key in quick-start
 * mode). A path that is group- or world-accessible is fixed when this user owns it; one owned
 * by someone else is not ours to change, so the server refuses to start, naming the path and
 * the command that fixes it. Missing files are skipped (SQLite makes -wal/-shm on demand:
 * call again after opening the store).
 *
 * @example secureDataDir('/var/lib/breakglass') // before and after opening the store
 */
export function secureDataDir(dataDir: string, options: { uid?: number } = {}): void {
  if (process.platform === 'win32') return; // POSIX modes; Windows protects the directory with its ACLs.
  const uid = options.uid ?? process.getuid?.();
  secure(dataDir, 0o700, uid);
  for (const path of privateFiles(dataDir)) secure(path, 0o600, uid);
}

function secure(path: string, mode: number, uid: number | undefined): void {
  let stats;
  try {
    stats = statSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if ((stats.mode & 0o077) === 0) return;
  const fix = `chmod ${mode.toString(8)} ${path}`;
  const current = (stats.mode & 0o777).toString(8).padStart(4, '0');
  if (stats.uid !== uid) {
    throw new AppError(
      'conflict',
      `${path} is accessible to other users (mode ${current}) and owned by another user (uid ${stats.uid}), so Breakglass will not change it; as its owner, run: ${fix}`,
    );
  }
  try {
    chmodSync(path, mode);
  } catch (cause) {
    throw new AppError('conflict', `${path} is accessible to other users (mode ${current}) and could not be fixed; run: ${fix}`, { cause });
  }
}
