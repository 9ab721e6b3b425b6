/**
 * Issue 12 (P2): truthful evidence. On each real target, n sessions are opened with the revealed
 * credential during a grant; ending the grant must record what the target saw —
 * `revocation: {sessionsBefore: n, sessionsEnded: n, sessionsAfter: 0}` on the grant view and in
 * `grant.revocation-verified` — and the sessions must really be dead. Rotation must record the
 * server's answer for the old secret (rejected, with its code) and the new one (accepted).
 */
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startHarness, type Harness } from '../support/harness.js';
import { probeTcp, requireService } from '../support/integration.js';
import { pgBinariesAvailable, startPgCluster, type PgCluster } from '../support/pg-cluster.js';
import { slapdAvailable, slapdLogin, startSlapd, type Slapd } from '../support/slapd.js';

const binaries = await requireService('PostgreSQL server binaries (initdb, pg_ctl)', () => pgBinariesAvailable());
const maria = await requireService('MariaDB on 127.0.0.1:3306', () => probeTcp('127.0.0.1', 3306));
const redis = await requireService('Redis on 127.0.0.1:6379', () => probeTcp('127.0.0.1', 6379));
const ldap = await requireService('OpenLDAP slapd (/usr/sbin/slapd with back_mdb and ppolicy)', slapdAvailable);

type Session = { alive(): Promise<boolean>; close(): Promise<void> };
type Credential = { username: string; password: string };

const tag = Math.random().toString(36).slice(2, 8);
const SESSIONS = 3;

function pgLogin(cluster: PgCluster) {
  return async (c: Credential): Promise<Session> => {
    const client = new pg.Client({ host: cluster.host, port: cluster.port, user: c.username, password: c.password, database: 'postgres', connectionTimeoutMillis: 3000 });
    client.on('error', () => undefined);
    await client.connect();
    return { alive: () => client.query('select 1').then(() => true, () => false), close: () => client.end().catch(() => undefined) };
  };
}

async function mariaLogin(c: Credential): Promise<Session> {
  const conn = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: c.username, password: c.password, connectTimeout: 3000 });
  conn.on('error', () => undefined);
  return { alive: () => conn.query('SELECT 1').then(() => true, () => false), close: () => conn.end().catch(() => undefined) };
}

async function redisLogin(c: Credential): Promise<Session> {
  const client = new Redis({ host: '127.0.0.1', port: 6379, username: c.username, password: c.password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  await client.connect();
  return { alive: () => client.ping().then(() => true, () => false), close: async () => void client.disconnect() };
}

interface AuditEvent {
  readonly action: string;
  readonly subject: string;
  readonly details: Record<string, unknown>;
}

describe.skipIf(binaries.skip || maria.skip || redis.skip)('revocation and rotation evidence on real targets (issue 12, P2)', () => {
  let h: Harness;
  let cluster: PgCluster;
  let alice: string;

  beforeAll(async () => {
    cluster = await startPgCluster();
    h = await startHarness({ dialect: 'sqlite' });
    const catalog = {
      targets: [
        { name: 'pg', type: 'postgres', host: cluster.host, port: cluster.port, database: 'postgres', user: cluster.adminUser, password: cluster.adminPassword },
        { name: 'maria', type: 'mysql', host: '127.0.0.1', port: 3306, user: 'root' },
        { name: 'cache', type: 'redis', host: '127.0.0.1', port: 6379 },
      ],
      policies: [{ name: 'p0', conditions: ['outage'], approval: { mode: 'post-hoc' }, defaultTtl: '15m', maxTtl: '1h' }],
      accounts: [
        { name: 'pg-bg', target: 'pg', mode: 'prestaged', role: `bgev_${tag}`, policy: 'p0' },
        { name: 'pg-jit', target: 'pg', mode: 'ephemeral', policy: 'p0' },
        { name: 'maria-bg', target: 'maria', mode: 'prestaged', user: `bgev_${tag}`, policy: 'p0' },
        { name: 'maria-jit', target: 'maria', mode: 'ephemeral', privileges: ['SELECT ON mysql.*'], policy: 'p0' },
        { name: 'redis-bg', target: 'cache', mode: 'prestaged', user: `bgev_${tag}`, policy: 'p0' },
        { name: 'redis-jit', target: 'cache', mode: 'ephemeral', rules: 'on ~* &* +@all', policy: 'p0' },
      ],
      users: [{ name: 'alice', roles: ['responder'] }],
    };
    const applied = await h.call(h.adminToken, 'POST', '/v1/apply', catalog);
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    alice = await h.enrol('alice');
  }, 60_000);

  afterAll(async () => {
    await h?.stop();
    await cluster?.stop();
    const conn = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
    await conn.query(`DROP USER IF EXISTS 'bgev_${tag}'@'%'`);
    await conn.end();
    const r = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
    await r.connect();
    await r.call('ACL', 'DELUSER', `bgev_${tag}`);
    r.disconnect();
  });

  async function eventsOf(id: string): Promise<AuditEvent[]> {
    const bundle: string = (await h.call(h.adminToken, 'GET', '/v1/audit/export')).body;
    return bundle
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditEvent)
      .filter((e) => e.subject === id);
  }

  const logins: [string, () => (c: Credential) => Promise<Session>][] = [
    ['pg-bg', () => pgLogin(cluster)],
    ['pg-jit', () => pgLogin(cluster)],
    ['maria-bg', () => mariaLogin],
    ['maria-jit', () => mariaLogin],
    ['redis-bg', () => redisLogin],
    ['redis-jit', () => redisLogin],
  ];

  it.each(logins)('%s: n live sessions at the end are counted before they are ended, and they really die', async (account, loginFor) => {
    const login = loginFor();
    const invoked = await h.call(alice, 'POST', '/v1/grants', { account, condition: 'outage', reason: 'evidence', incident: 'INC-12', ttl: '10m' });
    expect(invoked.status, JSON.stringify(invoked.body)).toBe(201);
    const id: string = invoked.body.id;
    const credential = (await h.call(alice, 'POST', `/v1/grants/${id}/reveal`)).body as Credential;
    const sessions: Session[] = [];
    for (let i = 0; i < SESSIONS; i++) sessions.push(await login(credential));
    for (const s of sessions) expect(await s.alive()).toBe(true);

    await h.call(alice, 'POST', `/v1/grants/${id}/end`);
    const done = await eventually(async () => {
      const g = (await h.call(alice, 'GET', `/v1/grants/${id}`)).body;
      return g.state === 'awaiting-certification' ? g : undefined;
    }, 30_000, `${account} revocation`);

    const evidence = { sessionsBefore: SESSIONS, sessionsEnded: SESSIONS, sessionsAfter: 0 };
    expect(done.revocation).toEqual(evidence);
    const revoked = (await eventsOf(id)).find((e) => e.action === 'grant.revocation-verified');
    expect(revoked?.details).toMatchObject(evidence);
    for (const s of sessions) expect(await s.alive(), `${account}: a session survived the revocation`).toBe(false);
    await Promise.all(sessions.map((s) => s.close()));
  });

  // What the server itself answered for each secret once the new one was set (codes, never text).
  const rotations: [string, Record<string, unknown>][] = [
    // 28P01 invalid_password; 28000 "not permitted to log in": the right password on a NOLOGIN role.
    ['pg-bg', { oldSecret: { result: 'rejected', code: '28P01' }, newSecret: { result: 'accepted', code: '28000' } }],
    // The old native hash is settled from mysql.global_priv (no failed login counted); the new one
    // by a real login that the locked account answers with 4151 (ER_ACCOUNT_HAS_BEEN_LOCKED).
    ['maria-bg', { oldSecret: { result: 'rejected', code: 'stored-hash-mismatch' }, newSecret: { result: 'accepted', code: '4151' } }],
    // AUTH answers WRONGPASS to a disabled user whatever the password: the stored SHA-256 settles it.
    ['redis-bg', { oldSecret: { result: 'rejected', code: 'stored-hash-mismatch' }, newSecret: { result: 'accepted', code: 'stored-hash-match' } }],
  ];

  it.each(rotations)('%s: grant.rotation-verified records the answer for the old and the new secret', async (account, expected) => {
    const invoked = await h.call(alice, 'POST', '/v1/grants', { account, condition: 'outage', reason: 'evidence', incident: 'INC-12', ttl: '10m' });
    const id: string = invoked.body.id;
    const old = (await h.call(alice, 'POST', `/v1/grants/${id}/reveal`)).body as Credential;
    await h.call(alice, 'POST', `/v1/grants/${id}/end`);
    await eventually(async () => (await h.call(alice, 'GET', `/v1/grants/${id}`)).body.state === 'awaiting-certification', 30_000, `${account} rotation`);
    const rotated = (await eventsOf(id)).find((e) => e.action === 'grant.rotation-verified');
    expect(rotated?.details).toMatchObject(expected);
    expect(JSON.stringify(rotated)).not.toContain(old.password);
  });

  it('a grant ended with no session open records zeros, not a guess', async () => {
    const invoked = await h.call(alice, 'POST', '/v1/grants', { account: 'maria-jit', condition: 'outage', reason: 'evidence', incident: 'INC-12', ttl: '10m' });
    const id: string = invoked.body.id;
    await h.call(alice, 'POST', `/v1/grants/${id}/end`);
    const done = await eventually(async () => {
      const g = (await h.call(alice, 'GET', `/v1/grants/${id}`)).body;
      return g.state === 'awaiting-certification' ? g : undefined;
    }, 30_000, 'revocation');
    expect(done.revocation).toEqual({ sessionsBefore: 0, sessionsEnded: 0, sessionsAfter: 0 });
  });
});

describe.skipIf(ldap.skip)('revocation and rotation evidence on a real LDAP directory (slapd with ppolicy)', () => {
  let slapd: Slapd;
  let h: Harness;
  let alice: string;
  const dn = () => `uid=bg-evidence-${tag},${slapd.peopleDn}`;

  beforeAll(async () => {
    slapd = await startSlapd();
    h = await startHarness({ dialect: 'sqlite' });
    const applied = await h.call(h.adminToken, 'POST', '/v1/apply', {
      targets: [{ name: 'dir', type: 'ldap', url: slapd.url, bindDn: slapd.adminDn, baseDn: slapd.peopleDn, allowCleartext: true, password: slapd.adminPassword }],
      policies: [{ name: 'p0', conditions: ['outage'], approval: { mode: 'post-hoc' }, defaultTtl: '15m', maxTtl: '1h' }],
      accounts: [{ name: 'dir-bg', target: 'dir', mode: 'prestaged', dn: dn(), policy: 'p0' }],
      users: [{ name: 'alice', roles: ['responder'] }],
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    alice = await h.enrol('alice');
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
    await slapd?.stop();
  });

  it('LDAP cannot see or end binds: the record says 0, not a guess; rotation says what settled each secret', async () => {
    const invoked = await h.call(alice, 'POST', '/v1/grants', { account: 'dir-bg', condition: 'outage', reason: 'evidence', incident: 'INC-12', ttl: '10m' });
    const id: string = invoked.body.id;
    const old = (await h.call(alice, 'POST', `/v1/grants/${id}/reveal`)).body as Credential;
    const bound = await slapdLogin(slapd, dn(), old.password);
    expect(bound, 'the revealed secret binds during the grant').not.toBe('rejected');
    if (bound !== 'rejected') await bound.close();
    await h.call(alice, 'POST', `/v1/grants/${id}/end`);
    const done = await eventually(async () => {
      const g = (await h.call(alice, 'GET', `/v1/grants/${id}`)).body;
      return g.state === 'awaiting-certification' ? g : undefined;
    }, 30_000, 'ldap revocation');
    expect(done.revocation).toEqual({ sessionsBefore: 0, sessionsEnded: 0, sessionsAfter: 0 });
    const bundle: string = (await h.call(h.adminToken, 'GET', '/v1/audit/export')).body;
    const events = bundle.trim().split('\n').map((l) => JSON.parse(l) as AuditEvent).filter((e) => e.subject === id);
    expect(events.find((e) => e.action === 'grant.rotation-verified')?.details).toMatchObject({
      oldSecret: { result: 'rejected', code: 'stored-hash-mismatch' },
      newSecret: { result: 'accepted', code: 'stored-hash-match' },
    });
    expect(await slapdLogin(slapd, dn(), old.password), 'the old secret no longer binds').toBe('rejected');
  });
});
