import { mkdirSync, mkdtempSync, realpathSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSshConnector, sshDriver } from './ssh-connector.js';
import { drillHostSchema } from './ssh-spec.js';

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

describe('ssh drillHost (the host a drill logs in to)', () => {
  const caKey = '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n';
  const hostKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ';
  const connector = (drillHost: unknown) => createSshConnector({ type: 'ssh', settings: { krlPath: '/tmp/bg-none/revoked.krl', drillHost }, adminSecret: caKey });

  it('injection: a host that could be an ssh option or carry a user, or a host key with more lines, is refused at construction and by the catalog', () => {
    const hostile = [
      { host: '-oProxyCommand=touch /tmp/pwned', hostKey },
      { host: 'root@127.0.0.1', hostKey },
      { host: '127.0.0.1 -p 2222', hostKey },
      { host: '', hostKey },
      { host: 'h', hostKey: `${hostKey}\n@cert-authority * ssh-ed25519 AAAA` },
      { host: 'h', hostKey: 'not a key' },
      { host: 'h', hostKey, port: 0 },
      { host: 'h', hostKey, extra: 1 },
    ];
    for (const drillHost of hostile) {
      expect(() => connector(drillHost), JSON.stringify(drillHost)).toThrowError(expect.objectContaining({ code: 'validation' }) as Error);
      expect(drillHostSchema.safeParse(drillHost).success, JSON.stringify(drillHost)).toBe(false);
    }
    expect(() => connector({ host: 'bastion-1.internal', port: 2222, hostKey: `${hostKey} root@bastion` })).not.toThrow();
    expect(() => connector({ host: '::1', hostKey })).not.toThrow();
  });

  it('tryLoginIssued refuses a credential that is not the issued certificate for one of the principals before ssh runs', async () => {
    const ops = connector({ host: '127.0.0.1', port: 9, hostKey }).ephemeral!;
    const request = { grantId: 'gr_abc', spec: { principals: ['oncall'] } };
    const calls = [
      { username: 'root', certificate: 'ssh-ed25519-cert-v01@openssh.com AAAA', privateKey: caKey },
      { username: 'oncall', certificate: 'ssh-ed25519-cert-v01@openssh.com AAAA\nx', privateKey: caKey },
      { username: 'oncall', certificate: 'ssh-ed25519-cert-v01@openssh.com AAAA', privateKey: 'not a key' },
      { username: 'oncall', password: 'a password' },
    ];
    for (const credential of calls) {
      await expect(ops.tryLoginIssued!(request, credential), JSON.stringify(credential.username)).rejects.toMatchObject({ code: 'validation' });
    }
    const noHost = createSshConnector({ type: 'ssh', settings: { krlPath: '/tmp/bg-none/revoked.krl' }, adminSecret: caKey }).ephemeral!;
    await expect(noHost.tryLoginIssued!(request, calls[0]!)).rejects.toMatchObject({ code: 'target_error', message: expect.stringMatching(/names no drillHost/) });
  });
});
