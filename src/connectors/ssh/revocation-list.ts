/**
 * The OpenSSH Key Revocation List (KRL) Breakglass maintains at `krlPath`: the only way to end a
 * certificate before its validity runs out. Readers (sshd via `RevokedKeys`, the config-management
 * job shipping it) must never see a half-written file, so updates go to a temporary file next to
 * it and are renamed into place. Writers serialise on a lock file, because two concurrent
 * read-modify-write cycles would silently drop one revocation.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, chmod, copyFile, open, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AppError } from '../../errors/index.js';
import { sshKeygen, type Deadline } from './ssh-keygen.js';

/** A lock older than this was left behind by a crashed writer (operations take milliseconds). */
const STALE_LOCK_MS = 60_000;
const LOCK_POLL_MS = 25;

/** errno values of a KRL location that may come back by itself (busy, full, flaky network FS). */
const RETRYABLE_FS = new Set(['EAGAIN', 'EBUSY', 'EIO', 'ENOSPC', 'ESTALE', 'ETIMEDOUT', 'EINTR', 'EMFILE', 'ENFILE']);

/**
 * A filesystem failure at the KRL as an AppError. A missing directory is retryable: the KRL
 * usually lives on a volume the config-management job shares, and an unmounted volume comes back.
 * Permission problems are configuration, so not retryable.
 */
function fsError(err: unknown, what: string): AppError {
  if (err instanceof AppError) return err;
  const errno = (err as { code?: unknown } | null)?.code;
  const code = typeof errno === 'string' ? errno : 'unknown';
  const retryable = code === 'ENOENT' || RETRYABLE_FS.has(code);
  return new AppError(retryable ? 'target_unavailable' : 'target_error', `ssh ${what}: ${code}`, { cause: { errno: code }, retryable });
}

/** Is there a KRL file yet? Fails (retryably) when its directory itself is missing. */
async function krlExists(krlPath: string, what: string): Promise<boolean> {
  try {
    if (!(await stat(dirname(krlPath))).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (err) {
    throw fsError(err, `${what}: the KRL directory is not available`);
  }
  try {
    await stat(krlPath);
    return true;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return false;
    throw fsError(err, `${what}: cannot read the KRL`);
  }
}

/**
 * Fails unless a revocation could be written: issuing a certificate Breakglass could not revoke
 * early would leave only its validity to end it.
 */
async function checkWritable(krlPath: string, what: string): Promise<void> {
  await krlExists(krlPath, what);
  try {
    await access(dirname(krlPath), constants.W_OK);
  } catch (err) {
    throw fsError(err, `${what}: the KRL directory is not writable`);
  }
}

/**
 * Does the KRL revoke this certificate? `ssh-keygen -Q` exits 0 for "ok", 1 with "REVOKED" for a
 * revoked key, and another status (255) when it cannot read the KRL or the key. A missing KRL
 * revokes nothing.
 */
async function revokes(krlPath: string, certPath: string, deadline: Deadline, what: string): Promise<boolean> {
  if (!(await krlExists(krlPath, what))) return false;
  const output = await sshKeygen.run(['-Q', '-f', krlPath, certPath], deadline, what);
  if (output.code === 0 && /: ok$/m.test(output.stdout)) return false;
  if (output.code === 1 && /: REVOKED$/m.test(output.stdout)) return true;
  throw new AppError('target_error', `ssh ${what}: cannot query the KRL (ssh-keygen exit status ${output.code})`, {
    cause: { exitCode: output.code },
  });
}

async function acquireLock(lockPath: string, deadline: Deadline, what: string): Promise<void> {
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'EEXIST') throw fsError(err, `${what}: cannot lock the KRL`);
    }
    try {
      if (Date.now() - (await stat(lockPath)).mtimeMs > STALE_LOCK_MS) await unlink(lockPath);
    } catch {
      // Released (or broken) by someone else meanwhile: just try again.
    }
    if (Date.now() + LOCK_POLL_MS >= deadline) {
      throw new AppError('target_unavailable', `ssh ${what}: the KRL is locked by another writer`, { retryable: true });
    }
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
}

/** Makes the new KRL durable, then swaps it in atomically and makes the rename durable. */
async function replaceAtomically(tmpPath: string, krlPath: string): Promise<void> {
  // sshd reads the KRL as root, but the job shipping it to the hosts may not run as root.
  await chmod(tmpPath, 0o644);
  const file = await open(tmpPath, 'r');
  try {
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmpPath, krlPath);
  const dir = await open(dirname(krlPath), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export interface RevocationEntry {
  readonly serial: bigint;
  readonly keyId: string;
  /** The CA public key file: KRL serial and key id entries are scoped to one CA. */
  readonly caPublicKeyPath: string;
  /** The caller's private work directory, for the KRL specification file. */
  readonly workDir: string;
  /** A certificate with that serial and key id, to prove the KRL now revokes it. */
  readonly probeCertPath: string;
}

/**
 * Adds the entry to the KRL (creating it when missing) unless it is already revoked, then proves
 * on the written file that it is. Idempotent.
 */
async function revoke(krlPath: string, entry: RevocationEntry, deadline: Deadline, what: string): Promise<void> {
  const lockPath = `${krlPath}.lock`;
  await krlExists(krlPath, what);
  // Both lines, so the certificate is revoked whether a host's sshd matches it by serial or id.
  const specPath = join(entry.workDir, 'revoke.spec');
  await writeFile(specPath, `serial: ${entry.serial}\nid: ${entry.keyId}\n`, { mode: 0o600, flag: 'wx' });
  await acquireLock(lockPath, deadline, what);
  const tmpPath = `${krlPath}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    if (await revokes(krlPath, entry.probeCertPath, deadline, what)) return;
    const update = await krlExists(krlPath, what);
    try {
      if (update) await copyFile(krlPath, tmpPath, constants.COPYFILE_EXCL);
    } catch (err) {
      throw fsError(err, `${what}: cannot copy the KRL`);
    }
    const args = ['-k', ...(update ? ['-u'] : []), '-f', tmpPath, '-s', entry.caPublicKeyPath, specPath];
    await sshKeygen.runOk(args, deadline, what);
    await replaceAtomically(tmpPath, krlPath).catch((err: unknown) => {
      throw fsError(err, `${what}: cannot replace the KRL`);
    });
  } finally {
    await unlink(tmpPath).catch(() => undefined);
    await unlink(lockPath).catch(() => undefined);
  }
  if (!(await revokes(krlPath, entry.probeCertPath, deadline, what))) {
    throw new AppError('target_error', `ssh ${what}: the KRL does not revoke serial ${entry.serial} after the update`);
  }
}

export const revocationList = { checkWritable, revokes, revoke } as const;
