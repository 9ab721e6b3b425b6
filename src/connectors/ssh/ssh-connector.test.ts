import { mkdirSync, mkdtempSync, realpathSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sshDriver } from './ssh-connector.js';

/** A data dir, an allowed KRL dir, and a directory the server must not write to. */
function world() {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'bg-krl-')));
  const [dataDir, krlDir, outside] = ['data', 'krl', 'outside'].map((name) => join(root, name)) as [string, string, string];
  for (const dir of [dataDir, krlDir, outside]) mkdirSync(dir);
  const prepare = (krlPath: string | undefined, krlDirs = [krlDir]) =>
    sshDriver.prepareSettings!(krlPath === undefined ? {} : { krlPath }, { dataDir, execDirs: [], krlDirs, targetName: 'hosts' })['krlPath'];
  return { dataDir, krlDir, outside, prepare };
}

describe('ssh krlPath', () => {
  it('files and directories: krlPath lies under the data directory or BREAKGLASS_KRL_DIRS', () => {
    const w = world();
    expect(w.prepare(undefined)).toBe(join(w.dataDir, 'ssh', 'hosts.krl'));
    expect(w.prepare(join(w.dataDir, 'ssh', 'fleet.krl'))).toBe(join(w.dataDir, 'ssh', 'fleet.krl'));
    expect(w.prepare(join(w.krlDir, 'revoked.krl'))).toBe(join(w.krlDir, 'revoked.krl'));
    // A directory not made yet (an unmounted share) is judged by where it would be.
    expect(w.prepare(join(w.krlDir, 'later', 'revoked.krl'))).toBe(join(w.krlDir, 'later', 'revoked.krl'));
  });

  it('files and directories: a krlPath elsewhere, or escaping with .. or a symlink, is refused with a clear error', () => {
    const w = world();
    const refused = /is outside the data directory and BREAKGLASS_KRL_DIRS.*list its directory in BREAKGLASS_KRL_DIRS/;
    expect(() => w.prepare(join(w.outside, 'revoked.krl'))).toThrowError(refused);
    expect(() => w.prepare('/etc/ssh/revoked.krl')).toThrowError(expect.objectContaining({ code: 'target_error' }) as Error);
    expect(() => w.prepare(join(w.dataDir, '..', 'outside', 'revoked.krl'))).toThrowError(refused);
    symlinkSync(w.outside, join(w.dataDir, 'link'));
    expect(() => w.prepare(join(w.dataDir, 'link', 'revoked.krl'))).toThrowError(refused);
    symlinkSync(join(w.outside, 'target.krl'), join(w.krlDir, 'swapped.krl'));
    expect(() => w.prepare(join(w.krlDir, 'swapped.krl'))).toThrowError(refused);
    // An allowed directory's name is no prefix for its siblings.
    mkdirSync(`${w.krlDir}2`);
    expect(() => w.prepare(join(`${w.krlDir}2`, 'revoked.krl'))).toThrowError(refused);
    // Without BREAKGLASS_KRL_DIRS only the data directory is allowed.
    expect(() => w.prepare(join(w.krlDir, 'revoked.krl'), [])).toThrowError(refused);
  });
});
