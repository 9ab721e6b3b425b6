import { closeSync, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { AppError } from '../errors/index.js';
import { assertRootKey } from './root-key-check.js';

/*
 * Writes a given root key in the key-file format `loadKeyFile` reads (base64 and a newline,
 * mode 0600). `createKeyFile` draws its own key; a rotation or a rekey to the keyfile seal must
 * write one it already holds, under a staging name that is renamed into place later.
 */

/**
 * Creates `path` (O_EXCL, mode 0600) holding `rootKey`, fsynced. Never overwrites.
 *
 * @example
 * writeRootKeyFile(join(dataDir, 'root.key.new'), newRootKey);
 */
export function writeRootKeyFile(path: string, rootKey: Buffer): void {
  assertRootKey(rootKey);
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (cause) {
    throw new AppError('crypto', `cannot create root key file ${path} (it must not exist yet)`, { cause });
  }
  const text = Buffer.from(`${rootKey.toString('base64')}\n`, 'utf8');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (cause) {
    closeSync(fd);
    unlinkSync(path);
    throw new AppError('crypto', `cannot write root key file ${path}`, { cause });
  } finally {
    text.fill(0);
  }
  closeSync(fd);
}
