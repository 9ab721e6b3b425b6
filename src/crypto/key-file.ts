import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { AppError } from '../errors/index.js';
import { decodeBase64Strict } from './lib/base64.js';

/*
 * The quick-start root key provider (DESIGN.md §3): 32 random bytes, base64, in a file only the
 * owner can read. Loading refuses a key that others could have read, because a leaked root key
 * opens every sealed secret; it is better to stop at startup than to run with a compromised key.
 */

const ROOT_KEY_BYTES = 32;

function errnoCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
    ? error.code
    : undefined;
}

/**
 * Creates a new root key file at `path` (mode 0600). Never overwrites: if the file exists this
 * throws, because replacing a root key would make every sealed value unreadable.
 *
 * @example
 * createKeyFile('/var/lib/breakglass/root.key');
 */
export function createKeyFile(path: string): void {
  let fd: number;
  try {
    // 'wx' = O_CREAT | O_EXCL: atomic "create only if absent", no check-then-write race.
    fd = openSync(path, 'wx', 0o600);
  } catch (cause) {
    const message =
      errnoCode(cause) === 'EEXIST'
        ? `root key file ${path} already exists; refusing to overwrite it (every sealed value depends on it)`
        : `cannot create root key file ${path}`;
    throw new AppError('crypto', message, { cause });
  }
  const key = randomBytes(ROOT_KEY_BYTES);
  const text = Buffer.from(`${key.toString('base64')}\n`, 'utf8');
  try {
    writeSync(fd, text);
    fsyncSync(fd); // the key must survive a crash right after it was first used
  } catch (cause) {
    // A half-written key file would only fail later and more confusingly: remove it.
    try {
      closeSync(fd);
    } finally {
      unlinkSync(path);
    }
    throw new AppError('crypto', `cannot write root key file ${path}`, { cause });
  } finally {
    key.fill(0);
    text.fill(0);
  }
  closeSync(fd);
}

/**
 * Reads the root key from `path`. Refuses (AppError 'crypto', saying what to do) a file that is
 * missing, not a regular file, accessible by group or others, or not exactly 32 base64 bytes.
 * The caller should zero the returned buffer when it is no longer needed.
 *
 * @example
 * const rootKey = loadKeyFile('/var/lib/breakglass/root.key');
 */
export function loadKeyFile(path: string): Buffer {
  let mode: number;
  let isFile: boolean;
  try {
    const stats = statSync(path);
    mode = stats.mode;
    isFile = stats.isFile();
  } catch (cause) {
    const message =
      errnoCode(cause) === 'ENOENT'
        ? `root key file ${path} does not exist; create it with the init command or point the configuration at the right file`
        : `cannot read root key file ${path}`;
    throw new AppError('crypto', message, { cause });
  }
  if (!isFile) throw new AppError('crypto', `root key file ${path} is not a regular file`);
  // POSIX permission bits mean nothing on Windows; there the file's ACL is the operator's job.
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(3, '0');
    throw new AppError(
      'crypto',
      `root key file ${path} is accessible by group or others (mode ${octal}); ` +
        `restrict it with \`chmod 600 ${path}\`, and rotate the root key if others may have read it`,
    );
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new AppError('crypto', `cannot read root key file ${path}`, { cause });
  }
  const key = decodeBase64Strict(text.trim());
  if (key === undefined || key.length !== ROOT_KEY_BYTES) {
    key?.fill(0);
    throw new AppError(
      'crypto',
      `root key file ${path} does not hold a ${ROOT_KEY_BYTES}-byte base64 key; restore the right file from backup`,
    );
  }
  return key;
}
