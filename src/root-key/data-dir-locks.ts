import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../errors/index.js';
import { materialFiles, materialPath } from './material-files.js';

/**
 * Keeps a rekey or rotation and a server apart on one data directory. A server that kept the
 * old root key in memory after a rotation would seal new secrets under it, and they would be
 * lost at the next start; a server that recovered a journal while a rotation was still running
 * would undo it. Both sides announce themselves first and look for the other second (each
 * server: a `serving-<pid>-<random>.pid` file; a rekey or rotation: `root-key.lock`), so at
 * least one of two that start together sees the other. A file whose process is gone (kill -9)
 * is ignored and removed.
 *
 * This protects one machine. Instances on other machines sharing a PostgreSQL store are found
 * by their connections instead (`SealedValueRepository.servingConnections`); the store's seal id
 * then stops them starting again with stale material.
 */

const servingPattern = /^serving-(\d+)-[0-9a-f]+\.pid$/;

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code === 'EPERM';
  }
}

function createExclusive(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}

const unlinkQuietly = (path: string) => {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
};

/** Announces a server on `dataDir`; the returned function withdraws it (call it on close). */
export function announceServer(dataDir: string): () => void {
  const path = join(dataDir, `serving-${process.pid}-${randomBytes(4).toString('hex')}.pid`);
  try {
    createExclusive(path, `${JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() })}\n`);
  } catch (error) {
    // A read-only data dir (root key material mounted from a secret store) cannot take a
    // marker; nothing can rekey or rotate there either, so there is nothing to keep apart.
    if (['EROFS', 'EACCES', 'EPERM'].includes(String((error as { code?: unknown }).code))) return () => undefined;
    throw error;
  }
  return () => unlinkQuietly(path);
}

/** Throws `conflict` if a server (other than `except`) is running on `dataDir`. */
export function assertNoLiveServer(dataDir: string): void {
  for (const name of readdirSync(dataDir)) {
    const match = servingPattern.exec(name);
    if (!match) continue;
    if (alive(Number(match[1]))) {
      throw new AppError(
        'conflict',
        `a Breakglass server (pid ${match[1]}) is running on ${dataDir}; stop it (and every other instance on the same store) first. ` +
          `If no server runs, remove ${join(dataDir, name)}`,
      );
    }
    unlinkQuietly(join(dataDir, name));
  }
}

function lockHolder(dataDir: string): { pid: number; op: string } | undefined {
  try {
    const parsed = JSON.parse(readFileSync(materialPath(dataDir, materialFiles.lock), 'utf8')) as { pid?: unknown; op?: unknown };
    return { pid: Number(parsed.pid), op: String(parsed.op) };
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    return { pid: -1, op: 'unknown' };
  }
}

/** Throws `conflict` while a rekey or rotation runs on `dataDir` (removes a stale lock). */
export function assertNoKeyOperation(dataDir: string): void {
  const holder = lockHolder(dataDir);
  if (holder === undefined) return;
  if (alive(holder.pid)) {
    throw new AppError('conflict', `a root key ${holder.op} is running on ${dataDir} (pid ${holder.pid}); wait for it to finish`);
  }
  unlinkQuietly(materialPath(dataDir, materialFiles.lock));
}

/** Takes the rekey/rotation lock of `dataDir`; the returned function releases it. */
export function lockKeyOperation(dataDir: string, op: 'rekey' | 'rotation'): () => void {
  const path = materialPath(dataDir, materialFiles.lock);
  const text = `${JSON.stringify({ pid: process.pid, op, startedAt: new Date().toISOString() })}\n`;
  if (!createExclusive(path, text)) {
    assertNoKeyOperation(dataDir); // throws if the holder lives; removes a stale lock otherwise
    if (!createExclusive(path, text)) throw new AppError('conflict', `another root key operation started on ${dataDir} just now`);
  }
  return () => unlinkQuietly(path);
}
