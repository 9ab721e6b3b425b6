import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../errors/index.js';
import { createKeyFile, loadKeyFile } from './key-file.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bg-key-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function failure(action: () => unknown): AppError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('crypto');
    return error as AppError;
  }
  throw new Error('expected a failure');
}

const posix = process.platform !== 'win32';

describe('key file', () => {
  it('creates a 32-byte key readable only by its owner and loads it back', () => {
    const path = join(dir, 'root.key');
    createKeyFile(path);
    if (posix) expect(statSync(path).mode & 0o777).toBe(0o600);
    const key = loadKeyFile(path);
    expect(key.length).toBe(32);
    expect(key.toString('base64')).toBe(readFileSync(path, 'utf8').trim());
  });

  it('creates a different key each time', () => {
    createKeyFile(join(dir, 'a.key'));
    createKeyFile(join(dir, 'b.key'));
    expect(loadKeyFile(join(dir, 'a.key'))).not.toEqual(loadKeyFile(join(dir, 'b.key')));
  });

  it('never overwrites an existing key file', () => {
    const path = join(dir, 'root.key');
    createKeyFile(path);
    const before = readFileSync(path, 'utf8');
    expect(failure(() => createKeyFile(path)).message).toContain('already exists');
    expect(readFileSync(path, 'utf8')).toBe(before);
  });

  it.runIf(posix)('refuses a key file readable by group or others, saying how to fix it', () => {
    const path = join(dir, 'root.key');
    createKeyFile(path);
    for (const mode of [0o640, 0o604, 0o660, 0o644]) {
      chmodSync(path, mode);
      const message = failure(() => loadKeyFile(path)).message;
      expect(message).toContain(`chmod 600 ${path}`);
      expect(message).toContain(mode.toString(8));
    }
    chmodSync(path, 0o400);
    expect(loadKeyFile(path).length).toBe(32);
  });

  it('refuses a file that does not hold a 32-byte base64 key', () => {
    for (const content of [Buffer.alloc(16).toString('base64'), Buffer.alloc(33).toString('base64'), 'not base64!', '']) {
      const path = join(dir, `bad-${content.length}.key`);
      writeFileSync(path, content, { mode: 0o600 });
      expect(failure(() => loadKeyFile(path)).message).toContain('32-byte base64 key');
    }
  });

  it('explains a missing file', () => {
    expect(failure(() => loadKeyFile(join(dir, 'missing.key'))).message).toContain('does not exist');
  });

  it('refuses a directory', () => {
    expect(failure(() => loadKeyFile(dir)).message).toContain('not a regular file');
  });
});
