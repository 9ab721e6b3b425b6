/**
 * The unix local accounts connector against a real, private sshd on this machine: Breakglass
 * connects as root with an admin key (host key pinned), the accounts log in for real with their
 * passwords, checked by sshd against /etc/shadow. Needs root: the local users it creates are
 * named `bgux…` (pre-staged) or `bg_…` with a `breakglass grant gr_ux…`/`gr_conf…` GECOS
 * (ephemeral), and removed at the end.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUnixConnector } from '../../src/connectors/unix/unix-connector.js';
import { AppError } from '../../src/errors/index.js';
import { ephemeralPrincipal, type Connector } from '../../src/ports/index.js';
import { connectorConformance, type Session } from '../conformance/connector-conformance.js';
import { hasExecutable, requireService } from '../support/integration.js';
import { removeTestUsers, startUnixSshd, TEST_PREFIX, unixSshdAvailable, type UnixSshd } from '../support/unix-sshd.js';
// issue 12 (evidence)
import { createSudoAdmin, type SudoAdmin } from '../support/unix-sshd.js';

const check = await requireService('root, OpenSSH server and client, useradd and openssl (/usr/sbin/sshd, ssh, useradd, openssl)', unixSshdAvailable);

let counter = 0;
const unique = () => `${Date.now().toString(36).slice(-5)}${(counter++).toString(36)}${Math.random().toString(36).slice(2, 5)}`;
const newUser = () => `${TEST_PREFIX}${unique()}`;
const nextGrant = () => `gr_ux${unique()}`;
const secret = (tag: string) => `S3cret-${tag}-${Math.random().toString(36).slice(2, 12)}-x`;
const local = (file: string, args: string[]) => execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
const passwdStatus = (user: string) => local('passwd', ['-S', user]).split(' ')[1];
const shadowExpire = (user: string) => local('getent', ['shadow', user]).trim().split(':')[7];
const supplementary = (user: string) => local('id', ['-Gn', user]).trim().split(/\s+/).filter((g) => g !== local('id', ['-gn', user]).trim()).sort();
const userExists = (user: string) => {
  try {
    local('getent', ['passwd', user]);
    return true;
  } catch {
    return false;
  }
};

async function thrown(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected the call to fail');
}

/** Sets a usable password on a new local user, as someone other than Breakglass would. */
function plantUser(user: string, password: string): void {
  local('useradd', ['-m', '-s', '/bin/sh', user]);
  execFileSync('chpasswd', [], { input: `${user}:${password}\n` });
}

function connectorFor(sshd: UnixSshd, overrides: { port?: number; hostKey?: string; timeoutMs?: number; user?: string } = {}): Connector {
  return createUnixConnector({
    type: 'unix',
    settings: { host: '127.0.0.1', port: overrides.port ?? sshd.port, user: overrides.user ?? 'root', hostKey: overrides.hostKey ?? sshd.hostKey },
    adminSecret: sshd.adminKey,
    ...(overrides.timeoutMs === undefined ? {} : { timeoutMs: overrides.timeoutMs }),
  });
}

connectorConformance(
  'unix',
  async () => {
    const sshd = await startUnixSshd();
    return {
      create: (options) => connectorFor(sshd, options?.timeoutMs === undefined ? { timeoutMs: 15_000 } : { timeoutMs: options.timeoutMs }),
      unreachable: () => connectorFor(sshd, { port: 1, timeoutMs: 1000 }),
      prestaged: {
        newPrincipal: newUser,
        spec: (principal) => ({ user: principal }),
        login: (principal, password) => sshd.passwordLogin(principal, password),
        // Every name reaches the host allow-listed ([a-z_][a-z0-9_-]*): unusual but valid ones work end to end.
        hostileNames: [`${TEST_PREFIX}_${unique()}-x`],
        rejectedNames: ['root;id', '$(id)', '`id`', '-oProxyCommand=x', 'two words', "o'brien", 'Root', 'ünï', 'a'.repeat(33), '../etc', 'bg:x', 'line\nx', 'nul\0x', ''],
        plantLogin: async (principal, password) => plantUser(principal, password),
        reservedNames: ['root', 'daemon', 'nobody'],
      },
      ephemeral: {
        spec: () => ({ groups: [] }),
        login: (credential) => sshd.passwordLogin(credential.username, credential['password'] ?? ''),
      },
      teardown: () => sshd.stop(),
    };
  },
  { skip: check.skip },
);

describe.skipIf(check.skip)('unix connector (private sshd, local accounts of this machine)', () => {
  let sshd: UnixSshd;
  let unix: Connector;
  const group = `${TEST_PREFIX}ops${unique()}`.slice(0, 32);
  const until = () => new Date(Date.now() + 3_600_000);

  async function alive(user: string, password: string): Promise<Session> {
    const login = await sshd.passwordLogin(user, password);
    expect(login).not.toBe('rejected');
    const session = login as Session;
    expect(await session.alive()).toBe(true);
    return session;
  }

  beforeAll(async () => {
    sshd = await startUnixSshd();
    unix = connectorFor(sshd, { timeoutMs: 15_000 });
    local('groupadd', [group]);
  });
  afterAll(async () => {
    await sshd?.stop();
    removeTestUsers();
    try {
      local('groupdel', [group]);
    } catch {
      // Never made.
    }
  });

  it('declares pre-staged and ephemeral with session kill; expiry is native only to the day', () => {
    expect(unix.capabilities).toEqual({ supportsSessionKill: true, supportsNativeExpiry: false, supportsPrestaged: true, supportsEphemeral: true });
  });

  it('stage: a locked (passwd -S L), expired (chage -E 1) account with exactly the declared groups; sshd refuses the secret', async () => {
    const user = newUser();
    const s = secret('stage');
    await unix.prestaged!.stage(user, s, { user, groups: [group] });
    expect(passwdStatus(user)).toBe('L');
    expect(shadowExpire(user)).toBe('1');
    expect(supplementary(user)).toEqual([group]);
    expect(local('getent', ['shadow', user]).split(':')[1]).toMatch(/^!\$6\$[./0-9A-Za-z]+\$[./0-9A-Za-z]{86}$/);
    expect(await sshd.passwordLogin(user, s)).toBe('rejected');
    expect(await unix.prestaged!.tryLogin!({ username: user, password: s })).toBe('rejected');
    expect(await unix.prestaged!.verify({ username: user, password: s })).toBe('accepted');
    // Staged again without groups: the declared set is what it gets (groups removed when the spec says []).
    await unix.prestaged!.stage(user, s, { user, groups: [] });
    expect(supplementary(user)).toEqual([]);
  });

  it('enable: usermod -U and chage -E at the day after the grant ends; disable kills the live session (pkill -KILL -u)', async () => {
    const user = newUser();
    const s = secret('enable');
    await unix.prestaged!.stage(user, s, { user });
    const validUntil = until();
    await unix.prestaged!.enable(user, validUntil);
    expect(passwdStatus(user)).toBe('P');
    expect(Number(shadowExpire(user))).toBe(Math.ceil(validUntil.getTime() / 86_400_000));
    const seen = await unix.prestaged!.inspect(user);
    expect(seen).toMatchObject({ exists: true, canLogin: true });
    expect(seen.validUntil?.getTime()).toBe(Math.ceil(validUntil.getTime() / 86_400_000) * 86_400_000);
    expect(await unix.prestaged!.tryLogin!({ username: user, password: s })).toBe('accepted');
    const session = await alive(user, s);
    expect((await unix.prestaged!.inspect(user)).sessions).toBeGreaterThan(0);
    await unix.prestaged!.disable(user);
    expect(await session.alive()).toBe(false);
    expect(passwdStatus(user)).toBe('L');
    expect(shadowExpire(user)).toBe('1');
    expect(await unix.prestaged!.inspect(user)).toMatchObject({ exists: true, canLogin: false, sessions: 0 });
    expect(await unix.prestaged!.tryLogin!({ username: user, password: s })).toBe('rejected');
    await session.close();
  });

  it('rotate: a new SHA-512 crypt hash; a real login refuses the old secret and takes the new one', async () => {
    const user = newUser();
    const [old, next] = [secret('old'), secret('new')];
    await unix.prestaged!.stage(user, old, { user });
    const hashBefore = local('getent', ['shadow', user]).split(':')[1];
    await unix.prestaged!.rotate(user, next);
    expect(local('getent', ['shadow', user]).split(':')[1]).not.toBe(hashBefore);
    expect(passwdStatus(user)).toBe('L');
    await unix.prestaged!.enable(user, until());
    expect(await unix.prestaged!.tryLogin!({ username: user, password: old })).toBe('rejected');
    expect(await unix.prestaged!.tryLogin!({ username: user, password: next })).toBe('accepted');
    await unix.prestaged!.disable(user);
  });

  it('ephemeral: a user per grant with the declared group, expiring natively; revoke ends its session and removes user and home', async () => {
    const grantId = nextGrant();
    const user = ephemeralPrincipal(grantId);
    const validUntil = until();
    const cred = await unix.ephemeral!.issue({ grantId, spec: { groups: [group] }, validUntil });
    expect(cred.username).toBe(user);
    expect(supplementary(user)).toEqual([group]);
    expect(Number(shadowExpire(user))).toBe(Math.ceil(validUntil.getTime() / 86_400_000));
    expect(local('getent', ['passwd', user]).split(':')[4]).toBe(`breakglass grant ${grantId}`);
    expect(await unix.ephemeral!.tryLoginIssued!({ grantId, spec: {} }, cred)).toBe('accepted');
    const session = await alive(user, cred['password']!);
    const home = local('getent', ['passwd', user]).split(':')[5]!;
    expect(existsSync(home)).toBe(true);
    await unix.ephemeral!.revoke({ grantId, spec: {} });
    expect(await session.alive()).toBe(false);
    expect(userExists(user)).toBe(false);
    expect(existsSync(home)).toBe(false);
    expect(await unix.ephemeral!.inspectIssued({ grantId, spec: {} })).toMatchObject({ exists: false, canLogin: false });
    await session.close();
  });

  it('ephemeral: a group that does not exist fails as a target_error naming the step', async () => {
    const grantId = nextGrant();
    const err = await thrown(unix.ephemeral!.issue({ grantId, spec: { groups: [`${TEST_PREFIX}nogroup`] }, validUntil: until() }));
    expect(err.code).toBe('target_error');
    expect(err.message).toMatch(/usermod-groups/);
    await unix.ephemeral!.revoke({ grantId, spec: {} });
  });

  it('ephemeral: a local user of the grant\'s name not made for that grant is never touched', async () => {
    const grantId = nextGrant();
    const user = ephemeralPrincipal(grantId);
    const theirs = secret('theirs');
    local('useradd', ['-m', '-s', '/bin/sh', '-c', 'someone else', user]);
    execFileSync('chpasswd', [], { input: `${user}:${theirs}\n` });
    try {
      expect((await thrown(unix.ephemeral!.issue({ grantId, spec: {}, validUntil: until() }))).code).toBe('conflict');
      expect((await thrown(unix.ephemeral!.revoke({ grantId, spec: {} }))).code).toBe('conflict');
      expect(userExists(user)).toBe(true);
      expect(passwdStatus(user)).toBe('P');
    } finally {
      local('userdel', ['-r', user]);
    }
  });

  it('host key pinning: a host answering with another key is refused before anything runs', async () => {
    const other = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHb0gX2y1m9l2Jb9t2iSg8vJ7m8Wm2G4yYFh8H0aW2Xx';
    const wrong = connectorFor(sshd, { hostKey: other });
    const user = newUser();
    const s = secret('pinned');
    for (const call of [() => wrong.prestaged!.stage(user, s, { user }), () => wrong.prestaged!.tryLogin!({ username: user, password: s }), () => wrong.prestaged!.inspect(user)]) {
      const err = await thrown(call());
      expect(err.code).toBe('target_error');
      expect(err.message).toMatch(/does not match the target's hostKey/);
    }
    expect(userExists(user)).toBe(false);
  });

  it('reserved and hostile names are refused before anything runs; system accounts too', async () => {
    for (const name of ['root', 'daemon', 'nobody', 'bin']) {
      expect((await thrown(unix.prestaged!.stage(name, secret('r'), { user: name }, { adopt: true }))).code, name).toBe('validation');
    }
    expect(passwdStatus('daemon')).not.toBe('P');
    // Checked on the host too: enable, disable and rotate never change a system account.
    const daemonBefore = local('getent', ['shadow', 'daemon']);
    for (const call of [() => unix.prestaged!.enable('daemon', until()), () => unix.prestaged!.disable('daemon'), () => unix.prestaged!.rotate('daemon', secret('d'))]) {
      expect((await thrown(call())).code).toBe('validation');
    }
    expect(local('getent', ['shadow', 'daemon'])).toBe(daemonBefore);
    for (const name of ['x;id', '$(id)', '-G', 'a b', "a'b", 'A']) {
      for (const call of [() => unix.prestaged!.stage(name, secret('h')), () => unix.prestaged!.disable(name), () => unix.prestaged!.inspect(name)]) {
        const err = await thrown(call());
        expect(err.code).toBe('validation');
        expect(err.message).not.toContain(name);
      }
    }
    for (const groups of [['sudo,root'], ['-x'], ['a b'], 'sudo', ['ok', 'ok']]) {
      const user = newUser();
      expect((await thrown(unix.prestaged!.stage(user, secret('g'), { user, groups }))).code, JSON.stringify(groups)).toBe('validation');
      expect(userExists(user)).toBe(false);
    }
    for (const bad of ['line\nroot:x', 'nul\0']) expect((await thrown(unix.prestaged!.stage(newUser(), bad))).code).toBe('validation');
  });

  it('rejects settings without a pinned host key, and a missing or encrypted-looking admin key', () => {
    const make = (settings: Record<string, unknown>, adminSecret: string | undefined) => () => createUnixConnector({ type: 'unix', settings, adminSecret });
    const good = { host: '127.0.0.1', port: sshd.port, user: 'root', hostKey: sshd.hostKey };
    expect(make({ ...good, hostKey: undefined }, sshd.adminKey)).toThrow(AppError);
    expect(make({ ...good, hostKey: 'not a key' }, sshd.adminKey)).toThrow(AppError);
    expect(make({ ...good, host: '-oProxyCommand=id' }, sshd.adminKey)).toThrow(AppError);
    expect(make(good, undefined)).toThrow(/privateKeyEnv/);
    expect(make(good, 'a password')).toThrow(/privateKeyEnv/);
  });
});

// issue 12 (evidence): session counts, and the sudo -n path with the documented sudoers line.
describe.skipIf(check.skip)('unix connector: session counts and the sudo -n path', () => {
  const sudoCheck = hasExecutable('/usr/bin/sudo') && hasExecutable('/usr/sbin/visudo');
  let sshd: UnixSshd;
  let unix: Connector;
  let admin: SudoAdmin | undefined;
  const until = () => new Date(Date.now() + 3_600_000);

  beforeAll(async () => {
    sshd = await startUnixSshd();
    unix = connectorFor(sshd, { timeoutMs: 15_000 });
    if (sudoCheck) admin = createSudoAdmin();
  });
  afterAll(async () => {
    admin?.remove();
    await sshd?.stop();
    removeTestUsers();
  });

  async function open(user: string, password: string): Promise<Session> {
    const login = await sshd.passwordLogin(user, password);
    expect(login).not.toBe('rejected');
    return login as Session;
  }

  /** Waits (generous deadline) until the host lists exactly `n` sessions: short-lived `alive()` probes must be gone. */
  async function settle(inspect: () => Promise<{ sessions: number }>, n: number): Promise<void> {
    const deadline = Date.now() + 20_000;
    let seen = -1;
    while (Date.now() < deadline) {
      seen = (await inspect()).sessions;
      if (seen === n) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`the host lists ${seen} sessions, not ${n}`);
  }

  it('disable counts on the host: two SSH sessions open → {sessionsBefore: 2, sessionsEnded: 2}, inspect 0 after', async () => {
    const user = newUser();
    const s = secret('count');
    await unix.prestaged!.stage(user, s, { user });
    await unix.prestaged!.enable(user, until());
    const sessions = [await open(user, s), await open(user, s)];
    await settle(() => unix.prestaged!.inspect(user), 2);
    expect(await unix.prestaged!.disable(user)).toEqual({ sessionsBefore: 2, sessionsEnded: 2 });
    expect(await unix.prestaged!.inspect(user)).toMatchObject({ canLogin: false, sessions: 0 });
    for (const session of sessions) expect(await session.alive()).toBe(false);
    // Nothing left: a second disable finds and ends none.
    expect(await unix.prestaged!.disable(user)).toEqual({ sessionsBefore: 0, sessionsEnded: 0 });
    await Promise.all(sessions.map((session) => session.close()));
  });

  it('revoke counts on the host: two SSH sessions of the grant\'s user → {2, 2}, then the user is gone; a second revoke 0/0', async () => {
    const grantId = nextGrant();
    const cred = await unix.ephemeral!.issue({ grantId, spec: {}, validUntil: until() });
    const sessions = [await open(cred.username, cred['password']!), await open(cred.username, cred['password']!)];
    await settle(() => unix.ephemeral!.inspectIssued({ grantId, spec: {} }), 2);
    expect(await unix.ephemeral!.revoke({ grantId, spec: {} })).toEqual({ sessionsBefore: 2, sessionsEnded: 2 });
    expect(await unix.ephemeral!.inspectIssued({ grantId, spec: {} })).toMatchObject({ exists: false, sessions: 0 });
    for (const session of sessions) expect(await session.alive()).toBe(false);
    expect(await unix.ephemeral!.revoke({ grantId, spec: {} })).toEqual({ sessionsBefore: 0, sessionsEnded: 0 });
    await Promise.all(sessions.map((session) => session.close()));
  });

  it.skipIf(!sudoCheck)('sudo -n: a non-root admin holding only the README\'s sudoers line runs stage, enable, disable, rotate, issue and revoke', async () => {
    const { user: adminUser } = admin!;
    expect(local('id', ['-u', adminUser]).trim()).not.toBe('0');
    const viaSudo = connectorFor(sshd, { user: adminUser, timeoutMs: 15_000 });
    const user = newUser();
    const [first, next] = [secret('sudo1'), secret('sudo2')];
    await viaSudo.prestaged!.stage(user, first, { user });
    expect(passwdStatus(user)).toBe('L');
    expect(await viaSudo.prestaged!.verify({ username: user, password: first })).toBe('accepted');
    await viaSudo.prestaged!.enable(user, until());
    expect(passwdStatus(user)).toBe('P');
    const session = await open(user, first);
    await settle(() => viaSudo.prestaged!.inspect(user), 1);
    expect(await viaSudo.prestaged!.disable(user)).toEqual({ sessionsBefore: 1, sessionsEnded: 1 });
    expect(await session.alive()).toBe(false);
    await session.close();
    await viaSudo.prestaged!.rotate(user, next);
    expect(await viaSudo.prestaged!.verify({ username: user, password: first })).toBe('rejected');
    expect(await viaSudo.prestaged!.verify({ username: user, password: next })).toBe('accepted');
    expect(await viaSudo.prestaged!.inspect(user)).toMatchObject({ exists: true, canLogin: false, sessions: 0 });

    const grantId = nextGrant();
    const cred = await viaSudo.ephemeral!.issue({ grantId, spec: {}, validUntil: until() });
    expect(await viaSudo.ephemeral!.tryLoginIssued!({ grantId, spec: {} }, cred)).toBe('accepted');
    // The login just closed may still be exiting on the host: whatever revoke saw, it ended.
    const ended = await viaSudo.ephemeral!.revoke({ grantId, spec: {} });
    expect(ended).toBeDefined();
    expect(ended?.sessionsEnded).toBe(ended?.sessionsBefore);
    expect(userExists(cred.username)).toBe(false);

    // The sudoers line is what made it work: without it, sudo -n refuses and the step is named.
    admin!.revokeSudo();
    const err = await thrown(viaSudo.prestaged!.disable(user));
    expect(err.code).toBe('target_error');
    expect(err.message).toMatch(/usermod-lock.*sudoers line/);
  });
});
