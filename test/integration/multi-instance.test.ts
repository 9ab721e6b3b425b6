/**
 * Three real server processes on one PostgreSQL store (issue 8, point 7): LISTEN/NOTIFY
 * wake-ups, short leases, one instance SIGKILLed in the middle of a burst of expiring grants.
 * Every grant is revoked on the target within 5 s of its expiry (or of the kill, for the grants
 * the dead instance held), exactly once; no job is left; the audit chain verifies. Then a
 * dual-control grant whose two shares go to two different instances is released once.
 *
 * Only the 5 s bound is a wall-clock assertion (the issue sets it); everything else waits for a
 * state with a generous deadline.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort, runCliProcess, serveProcess, type ServeProcess } from '../support/cli-process.js';
import { createStoreDatabase, enrol, eventually, removeDir, tryLogin } from '../support/harness.js';
import { probeTcp, requireService } from '../support/integration.js';
import { pgBinariesAvailable, startPgCluster, type PgCluster } from '../support/pg-cluster.js';

vi.setConfig({ testTimeout: 240_000 });

const binaries = await requireService('PostgreSQL server binaries (initdb, pg_ctl)', () => pgBinariesAvailable());
const storeServer = await requireService('PostgreSQL on 127.0.0.1:5432', () => probeTcp('127.0.0.1', 5432));

/** The bound: a credential dies within this long after its expiry (or the kill). */
const revocationBoundMs = 5_000;
const burst = 20;

interface Instance {
  readonly name: string;
  readonly dataDir: string;
  readonly port: number;
  process: ServeProcess;
  /** The lease owner prefix of this instance's scheduler (`<instance id>/`). */
  readonly leasePrefix: string;
}

interface BurstGrant {
  readonly id: string;
  readonly username: string;
  readonly password: string;
  readonly expiresAt: number;
  /** When the role could no longer log in on the target (NOLOGIN or dropped), as the test saw it. */
  deadAt?: number;
}

const catalog = (cluster: PgCluster, dualControl: boolean) => ({
  targets: [{ name: 'prod-pg', type: 'postgres', host: cluster.host, port: cluster.port, database: 'postgres', user: cluster.adminUser, password: cluster.adminPassword }],
  policies: [{ name: 'p0', conditions: ['outage'], approval: { mode: 'post-hoc' }, defaultTtl: '15m', maxTtl: '1h' }],
  accounts: [
    // One ephemeral account per grant: an account is held by one grant at a time.
    ...Array.from({ length: burst }, (_, i) => ({ name: `burst-${i}`, target: 'prod-pg', mode: 'ephemeral', policy: 'p0' })),
    ...(dualControl
      ? [{ name: 'pg-vault', target: 'prod-pg', mode: 'prestaged', role: 'bg_vault', policy: 'p0', approval: { mode: 'custodians', threshold: 2, window: '30m' }, custodians: ['carol', 'dave', 'erin'] }]
      : []),
  ],
  users: ['alice', 'bob', 'carol', 'dave', 'erin'].map((name) => ({ name, roles: [name === 'alice' ? 'responder' : name === 'bob' ? 'incident-owner' : 'custodian'] })),
});

describe.skipIf(binaries.skip || storeServer.skip)('three instances on one PostgreSQL store', () => {
  let cluster: PgCluster;
  let database: Awaited<ReturnType<typeof createStoreDatabase>>;
  let store: pg.Client;
  let target: pg.Client;
  let adminToken: string;
  const instances: Instance[] = [];
  const tokens: Record<string, string> = {};
  const dirs: string[] = [];

  // A connection of its own per call: instances are killed and restarted on their ports, and an
  // idle pooled connection the server has just closed fails a POST ("other side closed").
  const call = async (instance: Instance, as: string, method: string, path: string, body?: unknown) => {
    const dispatcher = new Agent({ pipelining: 0 });
    try {
      const response = await undiciFetch(`${instance.process.url}${path}`, {
        method,
        dispatcher,
        headers: { authorization: `Bearer ${as === 'admin' ? adminToken : tokens[as]!}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: (await response.json()) as any };
    } finally {
      await dispatcher.close();
    }
  };
  const cli = (instance: Instance, args: string[], as = 'admin') =>
    runCliProcess(args, { BREAKGLASS_ADDR: instance.process.url, BREAKGLASS_TOKEN: as === 'admin' ? adminToken : tokens[as]! });
  const auditLines = (instance: Instance) => {
    const file = join(instance.dataDir, `audit-${Date.now()}.jsonl`);
    const exported = cli(instance, ['audit', 'export', '--out', file]);
    expect(exported.code, exported.stderr).toBe(0);
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as { type: string; action?: string; subject?: string; seq?: number });
  };

  beforeAll(async () => {
    cluster = await startPgCluster();
    database = await createStoreDatabase();
    const env = { BREAKGLASS_DATABASE_URL: database.url };
    // `init` once; the other instances get the same root key material, and identities of their own.
    const first = mkdtempSync(join(tmpdir(), 'bg-multi-a-'));
    dirs.push(first);
    const init = runCliProcess(['init', '--data-dir', first, '--json'], env);
    expect(init.code, init.stderr).toBe(0);
    adminToken = (JSON.parse(init.stdout) as { adminToken: string }).adminToken;
    const material = readdirSync(first).filter((file) => file !== 'instance-id' && !file.startsWith('breakglass.db'));
    for (const name of ['a', 'b', 'c']) {
      const dataDir = name === 'a' ? first : mkdtempSync(join(tmpdir(), `bg-multi-${name}-`));
      if (name !== 'a') {
        dirs.push(dataDir);
        for (const file of material) copyFileSync(join(first, file), join(dataDir, file));
      }
      const port = await freePort();
      const server = await serveProcess(dataDir, port, env);
      const identity = JSON.parse(readFileSync(join(dataDir, 'instance-id'), 'utf8')) as { id: string };
      instances.push({ name, dataDir, port, process: server, leasePrefix: `${identity.id}/` });
    }
    expect(new Set(instances.map((i) => i.leasePrefix)).size).toBe(3);
    store = new pg.Client({ connectionString: database.url });
    await store.connect();
    target = new pg.Client({ host: cluster.host, port: cluster.port, user: cluster.adminUser, password: cluster.adminPassword, database: 'postgres' });
    await target.connect();
    const a = instances[0]!;
    expect((await call(a, 'admin', 'POST', '/v1/apply', catalog(cluster, false))).status).toBe(200);
    for (const user of ['alice', 'bob', 'carol', 'dave', 'erin']) tokens[user] = await enrol(a.process.url, adminToken, user);
  });
  afterAll(async () => {
    for (const instance of instances) await instance.process.stop().catch(() => undefined);
    await store?.end().catch(() => undefined);
    await target?.end().catch(() => undefined);
    await cluster?.stop();
    await database?.drop();
    for (const dir of dirs) removeDir(dir);
  });

  it('one instance killed mid-burst: every grant revoked within 5 s of its expiry or of the kill, exactly once; the chain verifies', async () => {
    const [a, b, c] = instances as [Instance, Instance, Instance];
    // The burst: grants opened round-robin on the three instances, expiring over about 10 s.
    const grants: BurstGrant[] = [];
    for (let i = 0; i < burst; i++) {
      const at = instances[i % 3]!;
      const invoked = await call(at, 'alice', 'POST', '/v1/grants', { account: `burst-${i}`, condition: 'outage', reason: 'burst', incident: `INC-${i}`, ttl: `${8 + Math.floor(i / 2)}s` });
      expect(invoked.status, JSON.stringify(invoked.body)).toBe(201);
      expect(invoked.body.state).toBe('active');
      const revealed = await call(at, 'alice', 'POST', `/v1/grants/${invoked.body.id}/reveal`);
      expect(revealed.status).toBe(200);
      grants.push({ id: invoked.body.id, username: revealed.body.username, password: revealed.body.password, expiresAt: Date.parse(invoked.body.expiresAt) });
    }

    // Watch the target: when does each role stop being able to log in? (NOLOGIN or gone; its
    // native VALID UNTIL is not counted, so this measures Breakglass's own revocation.)
    let watching = true;
    const watcher = (async () => {
      while (watching && grants.some((g) => g.deadAt === undefined)) {
        const alive = new Set((await target.query<{ rolname: string }>('select rolname from pg_roles where rolname = any($1) and rolcanlogin', [grants.map((g) => g.username)])).rows.map((r) => r.rolname));
        const now = Date.now();
        for (const grant of grants) if (grant.deadAt === undefined && !alive.has(grant.username)) grant.deadAt = now;
        await new Promise((r) => setTimeout(r, 25));
      }
    })();

    // The kill: once about half the burst has expired, as soon as instance C holds a lease.
    const byExpiry = [...grants].sort((x, y) => x.expiresAt - y.expiresAt);
    await new Promise((r) => setTimeout(r, Math.max(0, byExpiry[burst / 2 - 2]!.expiresAt - Date.now())));
    const lastExpiry = byExpiry[burst - 1]!.expiresAt;
    let heldByC: string[] = [];
    while (heldByC.length === 0 && Date.now() < lastExpiry) {
      const leased = await store.query<{ subject: string }>('select subject from jobs where lease_owner like $1 and lease_until > $2', [`${c.leasePrefix}%`, Date.now()]);
      heldByC = leased.rows.map((r) => r.subject);
      if (heldByC.length === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await c.process.kill9();
    const killedAt = Date.now();
    expect(heldByC.length, 'instance C held a lease when it was killed').toBeGreaterThan(0);

    await eventually(async () => grants.every((g) => g.deadAt !== undefined), 60_000, 'every burst credential revoked on the target');
    watching = false;
    await watcher;

    // The bound: from the expiry, or from the kill for a grant whose job the dead instance held.
    const lateness = grants.map((g) => {
      const fromKill = heldByC.includes(g.id) && g.expiresAt < killedAt;
      return { id: g.id, fromKill, ms: g.deadAt! - (fromKill ? killedAt : g.expiresAt) };
    });
    const worst = (fromKill: boolean) => Math.max(-Infinity, ...lateness.filter((l) => l.fromKill === fromKill).map((l) => l.ms));
    console.info(
      `multi-instance burst: ${burst} grants, instance C killed holding ${heldByC.length} lease(s); ` +
        `max lateness after expiry ${worst(false)} ms, after the kill ${worst(true)} ms (bound ${revocationBoundMs} ms)`,
    );
    for (const l of lateness) expect(l.ms, `grant ${l.id} revoked ${l.ms} ms after its ${l.fromKill ? 'kill' : 'expiry'}`).toBeLessThan(revocationBoundMs);
    for (const grant of grants) expect(typeof (await tryLogin(cluster, grant.username, grant.password)), grant.id).toBe('string');

    // No grant stuck, no job left.
    const states = await eventually(async () => {
      const seen = await Promise.all(grants.map(async (g) => (await call(a, 'alice', 'GET', `/v1/grants/${g.id}`)).body.state as string));
      return seen.every((s) => s === 'awaiting-certification') && seen;
    }, 60_000, 'every burst grant awaiting its certification');
    expect(new Set(states)).toEqual(new Set(['awaiting-certification']));
    await eventually(async () => (await store.query<{ n: number }>('select count(*)::int as n from jobs')).rows[0]?.n === 0, 60_000, 'an empty jobs table');

    // Exactly once each, in one linear chain that verifies (against a live instance).
    const events = auditLines(b).filter((line) => line.type === 'event');
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    for (const grant of grants) {
      const actions = events.filter((e) => e.subject === grant.id).map((e) => e.action);
      expect(actions.filter((x) => x === 'grant.expired'), grant.id).toHaveLength(1);
      expect(actions.filter((x) => x === 'grant.revocation-verified'), grant.id).toHaveLength(1);
    }
    const verified = cli(b, ['audit', 'verify']);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  });

  it('dual control across instances: shares presented to two instances release the grant once', async () => {
    const [a, b] = instances as [Instance, Instance];
    expect((await call(a, 'admin', 'POST', '/v1/apply', catalog(cluster, true))).status).toBe(200);
    const ceremony = cli(a, ['ceremony', 'pg-vault', '--json']);
    expect(ceremony.code, ceremony.stderr).toBe(0);
    const shares = (JSON.parse(ceremony.stdout) as { shares: Record<string, string> }).shares;
    await eventually(async () => (await call(b, 'admin', 'GET', '/v1/accounts')).body.accounts.find((x: { name: string }) => x.name === 'pg-vault')?.staging === 'staged', 60_000, 'pg-vault staged');
    const invoked = await call(b, 'alice', 'POST', '/v1/grants', { account: 'pg-vault', condition: 'outage', reason: 'vault down', incident: 'INC-99', ttl: '10m' });
    expect(invoked.body.state).toBe('awaiting-quorum');
    const id = invoked.body.id as string;
    const submit = (instance: Instance, who: string) => {
      const file = join(instance.dataDir, `${who}.share`);
      writeFileSync(file, shares[who]!, { mode: 0o600 });
      const result = cli(instance, ['share', 'submit', id, '--share-file', file, '--json'], who);
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as { presented: number; grant: { state: string } };
    };
    expect(submit(a, 'carol')).toMatchObject({ presented: 1, grant: { state: 'awaiting-quorum' } });
    // Held in the store, sealed: instance B knows of carol's share without having seen it.
    const held = await store.query<{ holder: string; share_sealed: string }>('select holder, share_sealed from pending_shares where grant_id = $1', [id]);
    expect(held.rows.map((r) => r.holder)).toEqual(['carol']);
    expect(held.rows[0]!.share_sealed).not.toContain(shares['carol']!.slice(10, 60));
    expect(submit(b, 'dave')).toMatchObject({ presented: 2, grant: { state: 'active' } });
    expect((await store.query('select 1 from pending_shares where grant_id = $1', [id])).rowCount).toBe(0);

    const actions = auditLines(a).filter((e) => e.subject === id).map((e) => e.action);
    expect(actions.filter((x) => x === 'grant.share-presented')).toHaveLength(2);
    expect(actions.filter((x) => x === 'grant.quorum-reached')).toHaveLength(1);
    const credential = await call(a, 'alice', 'POST', `/v1/grants/${id}/reveal`);
    const session = await tryLogin(cluster, 'bg_vault', credential.body.password);
    expect(session).toBeInstanceOf(pg.Client);
    await (session as pg.Client).end();
    const verified = cli(a, ['audit', 'verify']);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  });
});
