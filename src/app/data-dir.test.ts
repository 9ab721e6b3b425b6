import { chmodSync, copyFileSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { instanceIdentity, secureDataDir } from './data-dir.js';
import { initDataDir } from './init.js';
import { startServer } from './server.js';

const modeOf = (path: string) => statSync(path).mode & 0o777;

/** A data dir as a careless umask leaves it: 0755 and 0644. */
function looseDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bg-modes-'));
  chmodSync(dir, 0o755);
  for (const name of ['breakglass.db', 'breakglass.db-wal', 'breakglass.db-shm', 'root.key', 'root-key.json']) writeFileSync(join(dir, name), 'x', { mode: 0o644 });
  return dir;
}

describe.skipIf(process.platform === 'win32')('secureDataDir', () => {
  it('files and directories: the data directory is forced to 0700 and database and key files to 0600', () => {
    const dir = looseDataDir();
    writeFileSync(join(dir, 'notes.txt'), 'x', { mode: 0o644 });
    secureDataDir(dir);
    expect(modeOf(dir)).toBe(0o700);
    for (const name of ['breakglass.db', 'breakglass.db-wal', 'breakglass.db-shm', 'root.key', 'root-key.json']) expect(modeOf(join(dir, name)), name).toBe(0o600);
    expect(modeOf(join(dir, 'notes.txt'))).toBe(0o644); // not ours to police
  });

  it('files and directories: refuses to start when an accessible path is not ours to fix, naming it and the chmod to run', () => {
    const dir = looseDataDir();
    chmodSync(dir, 0o700);
    // Seen as another user: the files are not ours, so they are not changed.
    expect(() => secureDataDir(dir, { uid: (process.getuid?.() ?? 0) + 4242 })).toThrowError(
      expect.objectContaining({ message: expect.stringContaining(`run: chmod 600 ${join(dir, 'breakglass.db')}`) as string }) as Error,
    );
    expect(modeOf(join(dir, 'breakglass.db'))).toBe(0o644);
    chmodSync(dir, 0o750);
    expect(() => secureDataDir(dir, { uid: (process.getuid?.() ?? 0) + 4242 })).toThrowError(`run: chmod 700 ${dir}`);
  });

  it('leaves a private data dir alone and skips missing files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bg-modes-'));
    chmodSync(dir, 0o700);
    expect(() => secureDataDir(dir, { uid: (process.getuid?.() ?? 0) + 4242 })).not.toThrow();
  });
});

describe.skipIf(process.platform === 'win32')('the server and init secure their data dir', () => {
  it('files and directories: init makes the database 0600, and serve fixes a loosened one before it opens it', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'bg-modes-')), 'data');
    await initDataDir({ dataDir: dir });
    expect(modeOf(dir)).toBe(0o700);
    expect(modeOf(join(dir, 'breakglass.db'))).toBe(0o600);
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'breakglass.db'), 0o644);
    const server = await startServer({ dataDir: dir, port: 0, host: '127.0.0.1', logger: false });
    try {
      expect(modeOf(dir)).toBe(0o700);
      expect(modeOf(join(dir, 'breakglass.db'))).toBe(0o600);
      expect(modeOf(join(dir, 'root.key'))).toBe(0o600);
    } finally {
      await server.close();
    }
  });
});

describe('instanceIdentity', () => {
  it('restart: a data directory keeps one instance identity across runs, so leases of a dead run are known as ours', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bg-instance-'));
    const first = instanceIdentity(dir);
    expect(first).toMatch(/^inst-[0-9a-f-]{36}$/);
    expect(instanceIdentity(dir)).toBe(first);
    expect(modeOf(join(dir, 'instance-id'))).toBe(0o600);
    // A mangled file is replaced rather than trusted as a lease prefix.
    writeFileSync(join(dir, 'instance-id'), '{"id":"inst-%"}\n');
    expect(instanceIdentity(dir)).toMatch(/^inst-[0-9a-f-]{36}$/);
    // A copy of the directory (HA: the root key is copied to every instance) is another instance.
    const copy = mkdtempSync(join(tmpdir(), 'bg-instance-copy-'));
    copyFileSync(join(dir, 'instance-id'), join(copy, 'instance-id'));
    expect(instanceIdentity(copy)).not.toBe(instanceIdentity(dir));
  });
});
