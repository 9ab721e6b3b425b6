/**
 * Runs `ssh-keygen` for the SSH connector: never through a shell, always with a deadline, with
 * key material only in a private directory that is removed when the operation ends. The OpenSSH
 * certificate and KRL formats are left to ssh-keygen on purpose: it is the reference
 * implementation sshd itself is built from.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../errors/index.js';

/** Absolute time (epoch ms) by which the whole connector operation must have finished. */
export type Deadline = number;

/** What a finished ssh-keygen run printed. */
export interface KeygenOutput {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Plenty for keys, certificates and KRL listings; more means something is wrong. */
const MAX_OUTPUT_BYTES = 1024 * 1024;

/** How ssh-keygen failing to start (spawn errno) maps onto retryability. */
const RETRYABLE_SPAWN = new Set(['EAGAIN', 'ENOMEM', 'EMFILE', 'ENFILE', 'EBUSY']);

export function deadlineIn(timeoutMs: number): Deadline {
  return Date.now() + timeoutMs;
}

export function timedOut(what: string): AppError {
  return new AppError('target_unavailable', `ssh ${what}: timed out`, { retryable: true });
}

/**
 * Runs ssh-keygen and resolves with its exit status and output, whatever the status (callers
 * decide what a non-zero status means: `-Q` uses 1 for "revoked"). Rejects with an AppError when
 * it cannot run or overruns the deadline. The cause never holds the command line or output.
 */
function run(args: readonly string[], deadline: Deadline, what: string): Promise<KeygenOutput> {
  const timeout = deadline - Date.now();
  if (timeout <= 0) return Promise.reject(timedOut(what));
  return new Promise((resolve, reject) => {
    const child = execFile(
      'ssh-keygen',
      [...args],
      // A minimal environment: no agent socket, no locale surprises in the messages we parse.
      { timeout, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LC_ALL: 'C' } },
      (error, stdout, stderr) => {
        if (error === null) return resolve({ code: 0, stdout, stderr });
        const errno = typeof error.code === 'string' ? error.code : undefined;
        if (errno === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
          return reject(new AppError('target_error', `ssh ${what}: ssh-keygen printed more than expected`, { cause: { errno } }));
        }
        if (error.killed || error.signal !== null) return reject(timedOut(what));
        if (errno !== undefined) {
          const retryable = RETRYABLE_SPAWN.has(errno);
          const why = errno === 'ENOENT' ? 'ssh-keygen is not installed (openssh-client)' : `cannot run ssh-keygen (${errno})`;
          return reject(new AppError(retryable ? 'target_unavailable' : 'target_error', `ssh ${what}: ${why}`, { cause: { errno }, retryable }));
        }
        resolve({ code: typeof error.code === 'number' ? error.code : 1, stdout, stderr });
      },
    );
    // Nothing is ever fed on stdin; a closed stdin also stops any passphrase prompt on a pipe.
    child.stdin?.end();
  });
}

/** The first line of ssh-keygen's complaint, stripped of control characters, kept short. */
function complaint(output: KeygenOutput): string {
  const line = output.stderr.split('\n').find((l) => l.trim() !== '') ?? `exit status ${output.code}`;
  return line.replace(/\p{Cc}/gu, ' ').trim().slice(0, 200);
}

/** Runs ssh-keygen and insists on exit status 0 (a failure is a `target_error`). */
async function runOk(args: readonly string[], deadline: Deadline, what: string): Promise<KeygenOutput> {
  const output = await run(args, deadline, what);
  if (output.code !== 0) {
    throw new AppError('target_error', `ssh ${what}: ssh-keygen failed: ${complaint(output)}`, { cause: { exitCode: output.code } });
  }
  return output;
}

/**
 * Runs `fn` with a fresh 0700 directory for key material and removes it afterwards, also on
 * error. tmpfs (/dev/shm) is preferred so private keys never reach a persistent disk.
 */
async function withPrivateDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const base = (await isDirectory('/dev/shm')) ? '/dev/shm' : tmpdir();
  let dir: string;
  try {
    dir = await mkdtemp(join(base, 'bg-ssh-'));
  } catch (err) {
    const errno = (err as { code?: unknown }).code;
    throw new AppError('target_unavailable', 'ssh: cannot create a private temporary directory', { cause: { errno }, retryable: true });
  }
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Writes key material: owner-only, and never over an existing file. */
async function writePrivate(path: string, content: string): Promise<void> {
  await writeFile(path, content.endsWith('\n') ? content : `${content}\n`, { mode: 0o600, flag: 'wx' });
}

export const sshKeygen = { run, runOk, withPrivateDir, writePrivate } as const;
