import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../errors/index.js';

/**
 * File names of the root key material in a data directory, and the few file operations a
 * rekey or rotation needs: create-only writes that are fsynced, renames made durable by
 * fsyncing the directory. Names are fixed: a journal can only ever name these files.
 */
export const materialFiles = {
  keyFile: 'root.key',
  descriptor: 'root-key.json',
  stagedKeyFile: 'root.key.new',
  stagedDescriptor: 'root-key.new.json',
  journal: 'root-key.pending.json',
  lock: 'root-key.lock',
} as const;

export type MaterialFile = (typeof materialFiles)[keyof typeof materialFiles];
const known = new Set<string>(Object.values(materialFiles));

export function isMaterialFile(name: unknown): name is MaterialFile {
  return typeof name === 'string' && known.has(name);
}

export function materialPath(dataDir: string, name: MaterialFile): string {
  return join(dataDir, name);
}

/** A data dir is initialised once it has root key material: a descriptor, or (before seals) a key file. */
export function hasRootKeyMaterial(dataDir: string): boolean {
  return existsSync(materialPath(dataDir, materialFiles.descriptor)) || existsSync(materialPath(dataDir, materialFiles.keyFile));
}

/** Makes the directory entry changes (create, rename, unlink) in `dir` durable. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems cannot fsync a directory; the rename is still atomic there.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Creates `name` in `dataDir` (O_EXCL, 0600) with `text`, fsynced. Never overwrites. */
export function writeNewFile(dataDir: string, name: MaterialFile, text: string): void {
  const path = materialPath(dataDir, name);
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (cause) {
    throw new AppError('conflict', `cannot create ${path}: it already exists (a rekey or rotation left it behind?)`, { cause });
  }
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  fsyncDir(dataDir);
}

export function readTextIfExists(dataDir: string, name: MaterialFile): string | undefined {
  const path = materialPath(dataDir, name);
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

export function removeIfExists(dataDir: string, name: MaterialFile): void {
  try {
    unlinkSync(materialPath(dataDir, name));
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
  }
}

/** Atomic replace of `to` by `from` (both in `dataDir`); a missing `from` means it was done already. */
export function renameIfPresent(dataDir: string, from: MaterialFile, to: MaterialFile): void {
  if (!existsSync(materialPath(dataDir, from))) return;
  renameSync(materialPath(dataDir, from), materialPath(dataDir, to));
}
