/**
 * Whole cases through the engine on every connector of the contract catalog (issue 4):
 * MariaDB and Redis (pre-staged and ephemeral) on the servers of this machine, SSH
 * certificates on a private sshd that trusts the Breakglass CA.
 */
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { probeTcp, requireService } from '../support/integration.js';
import { sshdAvailable, startSshd, type Sshd } from '../support/sshd.js';

const maria = await requireService('MariaDB on 127.0.0.1:3306', () => probeTcp('127.0.0.1', 3306));
const redis = await requireService('Redis on 127.0.0.1:6379', () => probeTcp('127.0.0.1', 6379));
const ssh = await requireService('sshd, ssh and ssh-keygen', () => sshdAvailable());

type Session = { alive(): Promise<boolean>; close(): Promise<void> };
type Credential = Record<string, string> & { username: string };

const tag = Math.random().toString(36).slice(2, 8);

async function mariaLogin(c: Credential): Promise<Session | 'rejected'> {
  try {
    const conn = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: c.username, password: c['password']!, connectTimeout: 3000 });
    conn.on('error', () => undefined);
    return {
      alive: () => conn.query('SELECT 1').then(() => true, () => false),
      close: () => conn.end().catch(() => undefined),
    };
  } catch {
    return 'rejected';
  }
}

async function redisLogin(c: Credential): Promise<Session | 'rejected'> {
  const client = new Redis({ host: '127.0.0.1', port: 6379, username: c.username, password: c['password']!, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return { alive: () => client.ping().then(() => true, () => false), close: async () => void client.disconnect() };
  } catch {
    client.disconnect();
    return 'rejected';
  }
}

describe.skipIf(maria.skip || redis.skip || ssh.skip)('every connector through the engine', () => {
  let h: Harness;
  let alice: string;
  let bob: string;
  let sshd: Sshd | undefined;

  beforeAll(async () => {
    h = await startHarness({ dialect: 'sqlite' });
    const catalog = {
      targets: [
        { name: 'maria', type: 'mysql', host: '127.0.0.1', port: 3306, user: 'root' },
        { name: 'cache', type: 'redis', host: '127.0.0.1', port: 6379 },
        { name: 'hosts', type: 'ssh' },
      ],
      policies: [{ name: 'p0', conditions: ['outage'], approval: { mode: 'post-hoc' }, defaultTtl: '15m', maxTtl: '1h' }],
      accounts: [
        { name: 'maria-bg', target: 'maria', mode: 'prestaged', user: `bge2e_${tag}`, policy: 'p0' },
        { name: 'maria-jit', target: 'maria', mode: 'ephemeral', privileges: ['SELECT ON mysql.*'], policy: 'p0' },
        { name: 'redis-bg', target: 'cache', mode: 'prestaged', user: `bge2e_${tag}`, policy: 'p0' },
        { name: 'redis-jit', target: 'cache', mode: 'ephemeral', rules: 'on ~* &* +@all', policy: 'p0' },
        { name: 'ssh-root', target: 'hosts', mode: 'ephemeral', principals: ['bgssh'], policy: 'p0' },
      ],
      users: [
        { name: 'alice', roles: ['responder'] },
        { name: 'bob', roles: ['incident-owner'] },
      ],
    };
    const applied = await h.call(h.adminToken, 'POST', '/v1/apply', catalog);
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect(applied.body.staging).toEqual(
      expect.arrayContaining([
        { account: 'maria-bg', staging: 'staged' },
        { account: 'redis-bg', staging: 'staged' },
      ]),
    );
    alice = await h.enrol('alice');
    bob = await h.enrol('bob');
    const ca = await h.call(alice, 'GET', '/v1/ssh/ca');
    expect(ca.body.caPublicKey).toMatch(/^ssh-ed25519 /);
    // Hosts get the KRL from config management; here sshd reads the server's own copy.
    mkdirSync(join(h.dataDir, 'ssh'), { recursive: true, mode: 0o700 });
    sshd = await startSshd({ caPublicKey: ca.body.caPublicKey, krlPath: join(h.dataDir, 'ssh', 'hosts.krl') });
  });
  afterAll(async () => {
    await sshd?.stop();
    await h?.stop();
    const conn = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
    await conn.query(`DROP USER IF EXISTS 'bge2e_${tag}'@'%'`);
    await conn.end();
    const r = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
    await r.connect();
    await r.call('ACL', 'DELUSER', `bge2e_${tag}`);
    r.disconnect();
  });

  const cases: [string, (c: Credential) => Promise<Session | 'rejected'>, boolean][] = [
    ['maria-bg', mariaLogin, true],
    ['maria-jit', mariaLogin, true],
    ['redis-bg', redisLogin, true],
    ['redis-jit', redisLogin, true],
    ['ssh-root', (c) => sshd!.login(c as never), false],
  ];

  it.each(cases)('%s: invoke → reveal → login → end → revoked (sessions ended where the target can) → certified', async (account, login, killsSessions) => {
    const invoked = await h.call(alice, 'POST', '/v1/grants', { account, condition: 'outage', reason: 'e2e', incident: 'INC-9', ttl: '10m' });
    expect(invoked.status, JSON.stringify(invoked.body)).toBe(201);
    const id: string = invoked.body.id;
    const credential = (await h.call(alice, 'POST', `/v1/grants/${id}/reveal`)).body as Credential;
    expect(credential.username).toBeTypeOf('string');
    if (account === 'ssh-root') expect(Object.keys(credential).sort()).toEqual(['certificate', 'privateKey', 'username']);
    else expect(Object.keys(credential).sort()).toEqual(['password', 'username']);

    const session = await login(credential);
    expect(session, `${account}: login with the revealed credential`).not.toBe('rejected');
    const live = session as Session;
    expect(await live.alive()).toBe(true);

    await h.call(alice, 'POST', `/v1/grants/${id}/end`);
    const done = await eventually(async () => {
      const g = (await h.call(alice, 'GET', `/v1/grants/${id}`)).body;
      return g.state === 'awaiting-certification' ? g : undefined;
    }, 30_000, `${account} revocation`);
    expect(done.revokedAt).toBeDefined();
    if (account.endsWith('-bg')) expect(done.rotatedAt).toBeDefined();

    expect(await login(credential), `${account}: the revealed credential no longer works`).toBe('rejected');
    if (killsSessions) expect(await live.alive(), `${account}: the live session was ended`).toBe(false);
    await live.close();

    const closed = await h.call(bob, 'POST', `/v1/grants/${id}/certify`, { necessary: true, scoped: true, removed: true, note: 'e2e' });
    expect(closed.body.state).toBe('closed');
  });

  it('the audit chain holds and no revealed secret is in the logs or the bundle', async () => {
    expect((await h.call(h.adminToken, 'GET', '/v1/audit/verify')).body.ok).toBe(true);
    const bundle: string = (await h.call(h.adminToken, 'GET', '/v1/audit/export')).body;
    expect(bundle).not.toMatch(/BEGIN OPENSSH PRIVATE KEY/);
    expect(h.logs.join('')).not.toMatch(/BEGIN OPENSSH PRIVATE KEY/);
  });
});
