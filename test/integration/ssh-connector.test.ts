/**
 * The SSH certificate connector against a real, private sshd that trusts the Breakglass CA and
 * reads the KRL the connector maintains; logins use the real `ssh` client.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect as utilInspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSshConnector, sshDriver } from '../../src/connectors/ssh/ssh-connector.js';
import { sshNames as sshSpec } from '../../src/connectors/ssh/ssh-names.js';
import { AppError } from '../../src/errors/index.js';
import type { Connector, EphemeralOperations, RevealedCredential } from '../../src/ports/index.js';
import { connectorConformance, type Session } from '../conformance/connector-conformance.js';
import { requireService } from '../support/integration.js';
import { sshdAvailable, startSshd, type Sshd } from '../support/sshd.js';

const check = await requireService('OpenSSH server and client (/usr/sbin/sshd, ssh, ssh-keygen)', sshdAvailable);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let counter = 0;
const nextGrant = () => `gr_ssh${Date.now().toString(36)}${(counter++).toString(36)}`;

async function thrown(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected the call to fail');
}

function keygen(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('ssh-keygen', args, { encoding: 'utf8', env }, (error, stdout) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 255, stdout });
    });
  });
}

/** A target on its own KRL directory, with one CA for the whole file. */
interface World {
  caKey: string;
  caPublicKey: string;
  dir: string;
  krlPath: string;
  sshd: Sshd;
  connector(settings?: { krlPath?: string; timeoutMs?: number; adminSecret?: string }): Connector;
}

async function startWorld(): Promise<World> {
  const caKey = await sshDriver.generateAdminSecret!();
  const { caPublicKey } = await sshDriver.publicInfo!(caKey);
  const dir = mkdtempSync(join(tmpdir(), 'bg-krl-'));
  const krlPath = join(dir, 'revoked.krl');
  const sshd = await startSshd({ caPublicKey: caPublicKey!, krlPath });
  return {
    caKey,
    caPublicKey: caPublicKey!,
    dir,
    krlPath,
    sshd,
    connector: (s = {}) =>
      createSshConnector({
        type: 'ssh',
        settings: { krlPath: s.krlPath ?? krlPath },
        adminSecret: s.adminSecret ?? caKey,
        ...(s.timeoutMs === undefined ? {} : { timeoutMs: s.timeoutMs }),
      }),
  };
}

connectorConformance(
  'ssh',
  async () => {
    const world = await startWorld();
    return {
      create: (options) => world.connector(options?.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      // No server is contacted: the target Breakglass reaches is the KRL's location. A KRL
      // directory that is not there (an unmounted share) is the SSH form of "unreachable".
      unreachable: () => world.connector({ krlPath: join(world.dir, 'not-mounted', 'revoked.krl'), timeoutMs: 1000 }),
      ephemeral: {
        spec: () => ({ principals: [world.sshd.user, 'bg_other'] }),
        login: (credential) => world.sshd.login(credential),
      },
      async teardown() {
        await world.sshd.stop();
        rmSync(world.dir, { recursive: true, force: true });
      },
    };
  },
  { skip: check.skip },
);

describe.skipIf(check.skip)('ssh connector (private sshd trusting the Breakglass CA)', () => {
  let world: World;
  let ops: EphemeralOperations;
  const spec = () => ({ principals: [world.sshd.user] });
  const issue = (grantId: string, validUntil = new Date(Date.now() + 600_000), s: Record<string, unknown> = spec()) =>
    ops.issue({ grantId, spec: s, validUntil });
  const inspect = (grantId: string) => ops.inspectIssued({ grantId, spec: spec() });
  const privateDirs = () => readdirSync('/dev/shm').filter((name) => name.startsWith('bg-ssh-'));

  async function alive(credential: RevealedCredential): Promise<Session> {
    const login = await world.sshd.login(credential);
    expect(login).not.toBe('rejected');
    const session = login as Session;
    expect(await session.alive()).toBe(true);
    return session;
  }

  beforeAll(async () => {
    world = await startWorld();
    ops = world.connector().ephemeral!;
  });
  afterAll(async () => {
    await world?.sshd.stop();
    if (world) rmSync(world.dir, { recursive: true, force: true });
  });

  it('declares ephemeral-only capabilities, natively bounded, without session kill', () => {
    expect(world.connector().capabilities).toEqual({
      supportsSessionKill: false,
      supportsNativeExpiry: true,
      supportsPrestaged: false,
      supportsEphemeral: true,
    });
  });

  it('generates an unencrypted Ed25519 CA key and publishes the TrustedUserCAKeys line', async () => {
    expect(world.caKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+-----END OPENSSH PRIVATE KEY-----\n$/);
    expect(world.caPublicKey).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/=]+ breakglass-ca$/);
    const other = await sshDriver.generateAdminSecret!();
    expect(other).not.toBe(world.caKey);
    expect((await sshDriver.publicInfo!(other))['caPublicKey']).not.toBe(world.caPublicKey);
    expect(await sshDriver.publicInfo!(world.caKey)).toEqual({ caPublicKey: world.caPublicKey });
  });

  it('issues a certificate with key id = grant id, the derived serial, the principals and the grant validity', async () => {
    const grantId = nextGrant();
    const until = new Date(Date.now() + 3_600_000);
    const cred = await issue(grantId, until, { principals: [world.sshd.user, 'ops_2'] });
    expect(cred.username).toBe(world.sshd.user);
    expect(cred['certificate']).toMatch(/^ssh-ed25519-cert-v01@openssh\.com AAAA\S+ \S+$/);
    expect(cred['privateKey']).toContain('-----BEGIN OPENSSH PRIVATE KEY-----');
    const certFile = join(world.dir, `${grantId}-cert.pub`);
    writeFileSync(certFile, cred['certificate']!);
    const listing = (await keygen(['-L', '-f', certFile], { ...process.env, TZ: 'UTC' })).stdout;
    expect(listing).toContain(`Key ID: "${grantId}"`);
    expect(listing).toContain(`Serial: ${sshSpec.serialOf(grantId)}`);
    expect(listing).toMatch(new RegExp(`Principals: \\n\\s+${world.sshd.user}\\n\\s+ops_2\\n`));
    const [, from, to] = /Valid: from (\S+) to (\S+)/.exec(listing) ?? [];
    expect(Date.parse(`${to}Z`)).toBe(Math.floor(until.getTime() / 1000) * 1000);
    expect(Math.abs(Date.parse(`${from}Z`) - (Date.now() - 60_000))).toBeLessThan(5_000);
    const session = await alive(cred);
    await session.close();
  });

  it('the serial is a stable 63-bit number per grant, never 0', () => {
    const a = sshSpec.serialOf('gr_abc');
    expect(sshSpec.serialOf('gr_abc')).toBe(a);
    expect(sshSpec.serialOf('gr_abd')).not.toBe(a);
    for (let i = 0; i < 200; i++) {
      const s = sshSpec.serialOf(`gr_${i}`);
      expect(s > 0n && s < 1n << 63n).toBe(true);
    }
  });

  it('revoke publishes serial and key id in the KRL; sshd refuses the certificate, an open session lives on', async () => {
    const grantId = nextGrant();
    const cred = await issue(grantId);
    const session = await alive(cred);
    await ops.revoke({ grantId, spec: spec() });
    const listing = (await keygen(['-Q', '-l', '-f', world.krlPath])).stdout;
    expect(listing).toContain(`serial: ${sshSpec.serialOf(grantId)}`);
    expect(listing).toContain(`id: ${grantId}`);
    expect(await world.sshd.login(cred)).toBe('rejected');
    expect(world.sshd.log()).toMatch(/ED25519-CERT \S+ revoked by file/);
    expect(await inspect(grantId)).toEqual({ exists: false, canLogin: false, validUntil: undefined, sessions: 0 });
    // sshd consults the KRL only when a key authenticates (hence supportsSessionKill: false).
    expect(await session.alive()).toBe(true);
    await session.close();
    // A late issue retry for a revoked grant must not hand out a certificate every host refuses.
    expect((await thrown(issue(grantId))).code).toBe('target_error');
  });

  it('native expiry: the certificate stops working at validUntil with nobody calling revoke', async () => {
    // Long enough for issue and a first login on a loaded machine; then wait out the validity itself.
    const validUntil = new Date(Date.now() + 10_000);
    const cred = await issue(nextGrant(), validUntil);
    const session = await alive(cred);
    await session.close();
    await sleep(Math.max(0, validUntil.getTime() - Date.now()) + 1_000);
    expect(await world.sshd.login(cred)).toBe('rejected');
  });

  it('sshd accepts the certificate only for its principals', async () => {
    const cred = await issue(nextGrant(), undefined, { principals: ['bg_someone_else'] });
    expect(await world.sshd.login(cred, world.sshd.user)).toBe('rejected');
  });

  it('injection: hostile principals and grant ids are refused before ssh-keygen runs, nothing is written', async () => {
    const krlBefore = readFileSync(world.krlPath);
    const dirsBefore = privateDirs();
    const hostilePrincipals: unknown[] = [
      `${world.sshd.user},root`, // ssh-keygen -n splits on commas: would add root as a principal
      'root,', ',root', 'two words', 'line\nroot', 'nul\0root', "o'brien", 'quote"d', 'semi;colon', 'back\\slash',
      '$(id)', '`id`', '-n', 'Root', '\u0430dmin', 'ｒｏｏｔ', 'a'.repeat(33), '', '9digit', 'tab\troot', 42, null, ['root'],
    ];
    for (const principal of hostilePrincipals) {
      for (const call of [
        () => issue(nextGrant(), undefined, { principals: [principal] }),
        () => ops.revoke({ grantId: nextGrant(), spec: { principals: [principal] } }),
        () => ops.inspectIssued({ grantId: nextGrant(), spec: { principals: [principal] } }),
      ]) {
        const err = await thrown(call());
        expect(err.code, JSON.stringify(principal)).toBe('validation');
        if (typeof principal === 'string' && principal !== '') expect(err.message).not.toContain(principal);
      }
    }
    const badSpecs: Record<string, unknown>[] = [
      {}, { principals: [] }, { principals: 'root' }, { principals: Array.from({ length: 17 }, (_, i) => `u${i}`) },
      { principals: ['ops', 'ops'] }, { principals: ['ops'], extra: 'x' },
    ];
    for (const bad of badSpecs) expect((await thrown(issue(nextGrant(), undefined, bad))).code, JSON.stringify(bad)).toBe('validation');
    // The grant id becomes the key id and an `id:` line of the KRL specification.
    for (const grantId of ['gr_x\nserial: 1-9223372036854775807', 'gr x', 'gr_x,y', '', 'a'.repeat(129), 'gr_\0', 'gr_é']) {
      for (const call of [() => issue(grantId), () => ops.revoke({ grantId, spec: spec() }), () => inspect(grantId)]) {
        expect((await thrown(call())).code, JSON.stringify(grantId)).toBe('validation');
      }
    }
    expect((await thrown(issue(nextGrant(), new Date(Date.now() - 1000)))).code).toBe('validation');
    expect((await thrown(issue(nextGrant(), new Date(Number.NaN)))).code).toBe('validation');
    expect(readFileSync(world.krlPath).equals(krlBefore)).toBe(true);
    expect(privateDirs()).toEqual(dirsBefore);
  });

  it('revoke creates a missing KRL atomically and leaves neither temp nor lock files; idempotent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bg-krl-new-'));
    try {
      const krlPath = join(dir, 'revoked.krl');
      const fresh = world.connector({ krlPath }).ephemeral!;
      const grantId = nextGrant();
      expect(await fresh.inspectIssued({ grantId, spec: spec() })).toMatchObject({ exists: true, canLogin: true });
      await fresh.revoke({ grantId, spec: spec() });
      const first = readFileSync(krlPath);
      await fresh.revoke({ grantId, spec: spec() });
      expect(readFileSync(krlPath).equals(first)).toBe(true); // already revoked: not rewritten
      expect(readdirSync(dir)).toEqual(['revoked.krl']);
      expect(statSync(krlPath).mode & 0o777).toBe(0o644);
      expect(await fresh.inspectIssued({ grantId, spec: spec() })).toMatchObject({ exists: false, canLogin: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('concurrent revokes from two connectors lose no revocation (the KRL lock)', async () => {
    // Twelve revokes queue on one lock: each connector's timeout must cover the whole queue on a busy machine.
    const [one, other] = [world.connector({ timeoutMs: 60_000 }).ephemeral!, world.connector({ timeoutMs: 60_000 }).ephemeral!];
    const grants = Array.from({ length: 12 }, () => nextGrant());
    await Promise.all(grants.map((grantId, i) => (i % 2 === 0 ? one : other).revoke({ grantId, spec: spec() })));
    for (const grantId of grants) expect((await inspect(grantId)).canLogin, grantId).toBe(false);
    expect(readdirSync(world.dir).filter((n) => n.endsWith('.lock') || n.endsWith('.tmp'))).toEqual([]);
  });

  it('a held KRL lock is retryable within the timeout; a stale one is broken', async () => {
    const lock = `${world.krlPath}.lock`;
    writeFileSync(lock, '1\n');
    try {
      const started = Date.now();
      const err = await thrown(world.connector({ timeoutMs: 500 }).ephemeral!.revoke({ grantId: nextGrant(), spec: spec() }));
      expect(err.code).toBe('target_unavailable');
      expect(err.retryable).toBe(true);
      expect(Date.now() - started).toBeLessThan(2_000);
      const old = new Date(Date.now() - 120_000);
      utimesSync(lock, old, old);
      const grantId = nextGrant();
      await ops.revoke({ grantId, spec: spec() });
      expect((await inspect(grantId)).canLogin).toBe(false);
    } finally {
      rmSync(lock, { force: true });
    }
  });

  it('an unavailable KRL directory is retryable for every operation; issue fails closed', async () => {
    const down = world.connector({ krlPath: join(world.dir, 'unmounted', 'revoked.krl'), timeoutMs: 1000 }).ephemeral!;
    const calls = [
      () => down.issue({ grantId: nextGrant(), spec: spec(), validUntil: new Date(Date.now() + 60_000) }),
      () => down.revoke({ grantId: nextGrant(), spec: spec() }),
      () => down.inspectIssued({ grantId: nextGrant(), spec: spec() }),
    ];
    for (const call of calls) {
      const err = await thrown(call());
      expect(err.code).toBe('target_unavailable');
      expect(err.retryable).toBe(true);
    }
    // A file where the KRL directory should be is configuration, not an outage.
    writeFileSync(join(world.dir, 'plainfile'), '');
    const misconfigured = world.connector({ krlPath: join(world.dir, 'plainfile', 'revoked.krl') }).ephemeral!;
    expect((await thrown(misconfigured.revoke({ grantId: nextGrant(), spec: spec() }))).code).toBe('target_error');
  });

  it('a corrupt KRL is a target_error and is never overwritten', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bg-krl-bad-'));
    try {
      const krlPath = join(dir, 'revoked.krl');
      writeFileSync(krlPath, 'not a KRL');
      const bad = world.connector({ krlPath }).ephemeral!;
      expect((await thrown(bad.revoke({ grantId: nextGrant(), spec: spec() }))).code).toBe('target_error');
      expect((await thrown(bad.inspectIssued({ grantId: nextGrant(), spec: spec() }))).code).toBe('target_error');
      expect(readFileSync(krlPath, 'utf8')).toBe('not a KRL');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('secret-in-logs: a bad or encrypted CA key fails fast as target_error without quoting it', async () => {
    const broken = world.caKey.replace(/\n([A-Za-z0-9+/]{20})/, '\n$1AAAA');
    const encDir = mkdtempSync(join(tmpdir(), 'bg-ca-enc-'));
    await keygen(['-q', '-t', 'ed25519', '-N', 'a passphrase', '-f', join(encDir, 'ca')]);
    const encrypted = readFileSync(join(encDir, 'ca'), 'utf8');
    rmSync(encDir, { recursive: true, force: true });
    for (const adminSecret of [broken, encrypted]) {
      const bad = world.connector({ adminSecret }).ephemeral!;
      const calls = [
        () => bad.issue({ grantId: nextGrant(), spec: spec(), validUntil: new Date(Date.now() + 60_000) }),
        () => bad.revoke({ grantId: nextGrant(), spec: spec() }),
        () => bad.inspectIssued({ grantId: nextGrant(), spec: spec() }),
      ];
      for (const call of calls) {
        const started = Date.now();
        const err = await thrown(call());
        expect(err.code).toBe('target_error');
        expect(Date.now() - started).toBeLessThan(2_000);
        const body = adminSecret.split('\n')[2]!;
        expect(utilInspect(err, { depth: 10 })).not.toContain(body);
        expect(JSON.stringify(err)).not.toContain(body);
      }
    }
    expect(privateDirs()).toEqual([]);
  });

  it('an operation that overruns its timeout is a retryable target_unavailable', async () => {
    const slow = world.connector({ timeoutMs: 1 }).ephemeral!;
    const err = await thrown(slow.revoke({ grantId: nextGrant(), spec: spec() }));
    expect(err.code).toBe('target_unavailable');
    expect(err.retryable).toBe(true);
  });

  it('rejects bad settings and a missing CA key at construction', () => {
    const make = (settings: Record<string, unknown>, adminSecret: string | undefined, timeoutMs?: number) => () =>
      createSshConnector({ type: 'ssh', settings, adminSecret, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
    expect(make({}, world.caKey)).toThrow(/krlPath/);
    expect(make({ krlPath: 'relative.krl' }, world.caKey)).toThrow(/krlPath/);
    expect(make({ krlPath: '/x/\0y' }, world.caKey)).toThrow(AppError);
    expect(make({ krlPath: world.krlPath }, undefined)).toThrow(/CA key/);
    expect(make({ krlPath: world.krlPath }, 'not a key')).toThrow(/CA key/);
    expect(make({ krlPath: world.krlPath }, world.caKey, 0)).toThrow(/timeoutMs/);
    mkdirSync(join(world.dir, 'sub'), { recursive: true });
    expect(make({ krlPath: join(world.dir, 'sub') + '/' }, world.caKey)).toThrow(/krlPath/);
  });
});
