import { randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
// issue 13 (store reads)
import SqliteDatabase from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { probeTcp, requireService } from '../../test/support/integration.js';
import { asGrantId, asTokenId, asUserId, holdsAccount } from '../domain/index.js';
import type { Grant, GrantState, Policy } from '../domain/index.js';
import type { AccountRecord, AuditEventRecord, GrantListFilter, JobRecord, Store, UserRecord } from '../ports/index.js';
import { createPostgresStore, createSqliteStore } from './create-store.js';

/** One harness per dialect, so the same suite body runs on SQLite and on PostgreSQL. */
interface Harness {
  readonly name: Store['dialect'];
  readonly skip: boolean;
  setup(): Promise<void>;
  /** A store over an empty, migrated database. */
  fresh(): Promise<Store>;
  /** Another store over the database of the last `fresh()`; migrations run again. */
  reopen(): Promise<Store>;
  teardown(): Promise<void>;
  // issue 13 (store reads)
  /** SQLite: the file of the last `fresh()`. */
  readonly file?: () => string;
}

function sqliteHarness(): Harness {
  let dir = '';
  let file = '';
  let count = 0;
  return {
    name: 'sqlite',
    skip: false,
    setup: async () => void (dir = await mkdtemp(join(tmpdir(), 'bg-store-test-'))),
    fresh: () => createSqliteStore((file = join(dir, `store-${++count}.db`))),
    reopen: () => createSqliteStore(file),
    teardown: () => rm(dir, { recursive: true, force: true }),
    // issue 13 (store reads)
    file: () => file,
  };
}

const zeroHash = '0'.repeat(64);
const storeTables = 'users, api_tokens, targets, policies, accounts, grants, jobs, audit_events, audit_checkpoints, settings';

function postgresHarness(skip: boolean): Harness {
  const database = `bg_store_test_${randomBytes(6).toString('hex')}`;
  const url = `postgres://postgres@127.0.0.1:5432/${database}`;
  const run = async (connectionString: string, ...statements: string[]) => {
    const client = new pg.Client({ connectionString });
    await client.connect();
    try {
      for (const statement of statements) await client.query(statement);
    } finally {
      await client.end();
    }
  };
  const adminUrl = 'postgres://postgres@127.0.0.1:5432/postgres';
  return {
    name: 'postgres',
    skip,
    setup: () => run(adminUrl, `create database ${database}`),
    async fresh() {
      const store = await createPostgresStore(url, { poolSize: 4 });
      await run(
        url,
        `truncate table ${storeTables} cascade`,
        `update audit_head set seq = 0, hash = '${zeroHash}', checkpoint_at = null`,
      );
      return store;
    },
    reopen: () => createPostgresStore(url, { poolSize: 4 }),
    teardown: () => run(adminUrl, `drop database if exists ${database} with (force)`),
  };
}

const postgres = await requireService('PostgreSQL on 127.0.0.1:5432', () => probeTcp('127.0.0.1', 5432));

const t0 = new Date('2030-01-01T00:00:00.123Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const hash = (n: number) => n.toString(16).padStart(64, '0');

const policyInput: Omit<Policy, 'id'> = {
  name: 'p0',
  conditions: ['outage', 'lockout'],
  incidentPattern: '^INC-\\d+$',
  approval: { mode: 'post-hoc' },
  defaultTtlMs: 3_600_000,
  maxTtlMs: 14_400_000,
  minTtlMs: 60_000,
  invokers: ['responder'],
};

interface Seeded {
  readonly user: UserRecord;
  readonly owner: UserRecord;
  readonly account: AccountRecord;
}

function seed(store: Store): Promise<Seeded> {
  return store.transaction(async (tx) => {
    const user = await tx.users.upsert({ name: 'alice', roles: ['responder'] }, t0);
    const owner = await tx.users.upsert({ name: 'olivia', roles: ['incident-owner', 'auditor'] }, t0);
    const target = await tx.catalog.upsertTarget({ name: 'db1', type: 'postgres', settings: { host: 'h', port: 5432 }, adminSecretSealed: 'sealed:admin' });
    const policy = await tx.catalog.upsertPolicy(policyInput);
    const account = await tx.catalog.upsertAccount({ name: 'bg-db1', targetId: target.id, policyId: policy.id, mode: 'prestaged', principal: 'bg_admin', spec: { role: 'bg_admin' }, quorum: undefined });
    return { user, owner, account };
  });
}

function requestedGrant(s: Seeded, id: string, createdAt = t0): Grant {
  return {
    id: asGrantId(id),
    accountId: s.account.id,
    requesterId: s.user.id,
    requesterName: s.user.name,
    condition: 'outage',
    reason: 'SSO is down',
    incident: 'INC-42',
    state: 'requested',
    mode: 'prestaged',
    createdAt,
    activatedAt: undefined,
    expiresAt: at(3_600_000),
    ttlMs: 3_600_000,
    endedAt: undefined,
    endReason: undefined,
    revokedAt: undefined,
    rotatedAt: undefined,
    revealedAt: undefined,
    closedAt: undefined,
    certification: undefined,
    failure: undefined,
  };
}

function closedGrant(s: Seeded, id: string): Grant {
  return {
    ...requestedGrant(s, id),
    state: 'closed',
    activatedAt: at(1),
    endedAt: at(2),
    endReason: 'ended',
    revokedAt: at(3),
    rotatedAt: at(4),
    revealedAt: at(5),
    closedAt: at(7),
    certification: { by: s.owner.id, byName: s.owner.name, at: at(6), necessary: true, scoped: false, removed: true, note: 'ok "quoted" ✓' },
    failure: 'a transient failure, later recovered',
  };
}

function event(seq: number, extra: Partial<AuditEventRecord> = {}): AuditEventRecord {
  return { seq, at: at(seq), actor: 'alice', action: 'grant.test', subject: `grt_${seq}`, details: { n: seq, nested: { ok: true } }, prevHash: hash(seq - 1), hash: hash(seq), ...extra };
}

const harnesses = [sqliteHarness(), postgresHarness(postgres.skip)];

describe.each(harnesses)('store on $name', (harness) => {
  describe.skipIf(harness.skip)(harness.name, () => {
    const opened: Store[] = [];
    const open = async (how: 'fresh' | 'reopen' = 'fresh') => {
      const store = await harness[how]();
      opened.push(store);
      return store;
    };
    beforeAll(() => harness.setup());
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });
    afterAll(() => harness.teardown());

    it('migrations are idempotent: opening the same database twice keeps the data', async () => {
      const first = await open();
      expect(first.dialect).toBe(harness.name);
      await first.transaction((tx) => tx.settings.set('k', 'v'));
      const second = await open('reopen');
      expect(await second.transaction((tx) => tx.settings.get('k'))).toBe('v');
      expect(await second.transaction((tx) => tx.audit.lockHead())).toEqual({ seq: 0, hash: zeroHash, checkpointAt: undefined });
    });

    it('users: upsert keeps the id, tokens are found by hash', async () => {
      const store = await open();
      const later = at(1000);
      const result = await store.transaction(async (tx) => {
        const first = await tx.users.upsert({ name: 'alice', roles: ['responder'] }, t0);
        const again = await tx.users.upsert({ name: 'alice', roles: ['responder', 'admin'] }, later);
        await tx.tokens.insert({ id: asTokenId('tok_1'), userId: first.id, tokenHash: 'sha256-of-token', label: 'laptop', createdAt: t0, expiresAt: undefined, createdBy: 'alice', createdById: first.id });
        return { first, again, byName: await tx.users.findByName('alice'), byId: await tx.users.findById(first.id), list: await tx.users.list(), byToken: await tx.tokens.findByHash('sha256-of-token'), unknown: await tx.tokens.findByHash('nope') };
      });
      expect(result.first.id).toMatch(/^usr_/);
      expect(result.again).toStrictEqual({ id: result.first.id, name: 'alice', roles: ['responder', 'admin'], createdAt: t0, service: false, disabled: false, declared: false });
      expect(result.byName).toStrictEqual(result.again);
      expect(result.byId).toStrictEqual(result.again);
      expect(result.byToken?.user).toStrictEqual(result.again);
      expect(result.list).toStrictEqual([result.again]);
      expect(result.unknown).toBeUndefined();
    });

    // issue 13 (authread): findByHash reads the token and its user in one statement (a join).
    it('tokens: findByHash gives every column of the user as users.findById does, in a read and in a write transaction', async () => {
      const store = await open();
      const recipient = 'x25519-public-key-base64url';
      const users = await store.transaction(async (tx) => {
        const plain = await tx.users.upsert({ name: 'alice', roles: ['responder'] }, t0);
        const robot = await tx.users.upsert({ name: 'robot', roles: ['auditor', 'incident-owner'], recipient, service: true, declared: true }, t0);
        await tx.users.setDisabled(robot.id, true);
        await tx.tokens.insert({ id: asTokenId('tok_a'), userId: plain.id, tokenHash: 'h-a', label: 'laptop', createdAt: t0, expiresAt: undefined, createdBy: 'alice', createdById: plain.id });
        await tx.tokens.insert({ id: asTokenId('tok_r'), userId: robot.id, tokenHash: 'h-r', label: 'ci', createdAt: t0, expiresAt: at(60_000), createdBy: 'admin', createdById: undefined });
        return { plain: (await tx.users.findById(plain.id))!, robot: (await tx.users.findById(robot.id))! };
      });
      expect(users.robot).toMatchObject({ recipient, service: true, disabled: true, declared: true, roles: ['auditor', 'incident-owner'] });
      const read = await store.read(async (tx) => ({ a: await tx.tokens.findByHash('h-a'), r: await tx.tokens.findByHash('h-r') }));
      const written = await store.transaction(async (tx) => ({ a: await tx.tokens.findByHash('h-a'), r: await tx.tokens.findByHash('h-r') }));
      for (const found of [read, written]) {
        expect(found.a?.user).toStrictEqual(users.plain);
        expect(found.r?.user).toStrictEqual(users.robot);
        expect(found.a?.token).toMatchObject({ id: 'tok_a', userId: users.plain.id, user: 'alice', label: 'laptop', createdAt: t0, expiresAt: undefined, revokedAt: undefined });
        expect(found.r?.token).toMatchObject({ id: 'tok_r', userId: users.robot.id, user: 'robot', expiresAt: at(60_000), createdById: undefined });
      }
    });

    it('tokens: listed without their hash, revoked once, revoked all at once when the user is disabled', async () => {
      const store = await open();
      const result = await store.transaction(async (tx) => {
        const alice = await tx.users.upsert({ name: 'alice', roles: ['responder'], service: false, declared: true }, t0);
        const robot = await tx.users.upsert({ name: 'robot', roles: ['auditor'], service: true }, t0);
        const token = (id: string, userId: typeof alice.id, hash: string, expiresAt?: Date) =>
          tx.tokens.insert({ id: asTokenId(id), userId, tokenHash: hash, label: id, createdAt: t0, expiresAt, createdBy: 'admin', createdById: undefined });
        await token('tok_a1', alice.id, 'h-a1', at(60_000));
        await token('tok_a2', alice.id, 'h-a2');
        await token('tok_r1', robot.id, 'h-r1');
        await tx.tokens.touch(asTokenId('tok_a1'), at(5_000));
        const first = await tx.tokens.revoke(asTokenId('tok_r1'), at(6_000));
        const second = await tx.tokens.revoke(asTokenId('tok_r1'), at(7_000));
        const all = await tx.tokens.revokeAllOf(alice.id, at(8_000));
        await tx.users.setDisabled(alice.id, true);
        return { robot, first, second, all, aliceTokens: await tx.tokens.list({ userId: alice.id }), everyone: await tx.tokens.list({}), a1: await tx.tokens.findById(asTokenId('tok_a1')), user: await tx.users.findById(alice.id) };
      });
      expect(result.robot.service).toBe(true);
      expect([result.first, result.second, result.all]).toStrictEqual([true, false, 2]);
      expect(result.aliceTokens.map((t) => t.id).sort()).toStrictEqual(['tok_a1', 'tok_a2']);
      expect(result.everyone).toHaveLength(3);
      expect(result.a1).toStrictEqual({
        id: 'tok_a1', userId: result.user?.id, user: 'alice', label: 'tok_a1', createdAt: t0, expiresAt: at(60_000), lastUsedAt: at(5_000), revokedAt: at(8_000), createdBy: 'admin', createdById: undefined,
      });
      expect(JSON.stringify(result.everyone)).not.toContain('h-a');
      expect(result.user?.disabled).toBe(true);
    });

    it('enrolment codes: used once, never after their expiry', async () => {
      const store = await open();
      const result = await store.transaction(async (tx) => {
        const bob = await tx.users.upsert({ name: 'bob', roles: ['incident-owner'] }, t0);
        await tx.tokens.addEnrolmentCode({ codeHash: 'c1', userId: bob.id, createdBy: 'admin', createdAt: t0, expiresAt: at(1_000) });
        await tx.tokens.addEnrolmentCode({ codeHash: 'c2', userId: bob.id, createdBy: 'admin', createdAt: t0, expiresAt: at(1_000) });
        return {
          bob,
          once: await tx.tokens.useEnrolmentCode('c1', at(500)),
          twice: await tx.tokens.useEnrolmentCode('c1', at(600)),
          late: await tx.tokens.useEnrolmentCode('c2', at(1_000)),
          unknown: await tx.tokens.useEnrolmentCode('nope', at(1)),
        };
      });
      expect(result.once).toBe(result.bob.id);
      expect([result.twice, result.late, result.unknown]).toStrictEqual([undefined, undefined, undefined]);
    });

    it('catalog: upserts keep ids, the secret is only changed by setAccountSecret', async () => {
      const store = await open();
      const s = await seed(store);
      const result = await store.transaction(async (tx) => {
        const target = await tx.catalog.upsertTarget({ name: 'db1', type: 'postgres', settings: { host: 'h2' }, adminSecretSealed: undefined });
        const policy = await tx.catalog.upsertPolicy({ ...policyInput, minTtlMs: undefined, incidentPattern: undefined, maxTtlMs: 7_200_000 });
        await tx.catalog.setAccountSecret(s.account.id, 'sealed:v1', 0);
        await tx.catalog.lockAccount(s.account.id);
        const account = await tx.catalog.upsertAccount({ name: 'bg-db1', targetId: target.id, policyId: policy.id, mode: 'prestaged', principal: 'bg_admin2', spec: { role: 'bg_admin2', note: 'ü "quoted"' }, quorum: { threshold: 2, custodians: ['carol', 'dave'], windowMs: 1_800_000 } });
        return { target, policy, account, lists: [await tx.catalog.listTargets(), await tx.catalog.listPolicies(), await tx.catalog.listAccounts()] };
      });
      expect(s.account).toMatchObject({ staging: 'pending', secretVersion: 0, secretSealed: undefined, spec: { role: 'bg_admin' } });
      expect(s.account.id).toMatch(/^acc_/);
      expect(result.target).toStrictEqual({ id: s.account.targetId, name: 'db1', type: 'postgres', settings: { host: 'h2' }, adminSecretSealed: undefined });
      expect(result.policy).toStrictEqual({ ...policyInput, id: s.account.policyId, minTtlMs: undefined, incidentPattern: undefined, maxTtlMs: 7_200_000 });
      expect(result.account).toStrictEqual({ ...s.account, principal: 'bg_admin2', spec: { role: 'bg_admin2', note: 'ü "quoted"' }, quorum: { threshold: 2, custodians: ['carol', 'dave'], windowMs: 1_800_000 }, staging: 'staged', secretVersion: 1, secretSealed: 'sealed:v1' });
      expect(result.lists).toStrictEqual([[result.target], [result.policy], [result.account]]);
      const found = await store.transaction(async (tx) => [
        await tx.catalog.findAccountByName('bg-db1'),
        await tx.catalog.findAccountById(s.account.id),
        await tx.catalog.findTargetById(s.account.targetId),
        await tx.catalog.findPolicyById(s.account.policyId),
        await tx.catalog.findAccountByName('missing'),
      ]);
      expect(found).toStrictEqual([result.account, result.account, result.target, result.policy, undefined]);
    });

    // issue 11 (H4)
    it('catalog: a policy\'s invocation criteria round-trip (migration 0020), and absent ones stay absent', async () => {
      const store = await open();
      const criteria = { reasonMinLength: 10, invokerUsers: ['bob'], incidentCheck: { url: 'https://itsm.example/i/{incident}', onUnreachable: 'allow' as const, timeoutMs: 3000 } };
      const [withCriteria, without] = await store.transaction(async (tx) => [
        await tx.catalog.upsertPolicy({ ...policyInput, name: 'p-criteria', ...criteria }),
        await tx.catalog.upsertPolicy({ ...policyInput, name: 'p-plain' }),
      ]);
      const [read, plain] = await store.transaction(async (tx) => [await tx.catalog.findPolicyById(withCriteria.id), await tx.catalog.findPolicyById(without.id)]);
      expect(read).toMatchObject(criteria);
      expect(plain).not.toHaveProperty('reasonMinLength');
      expect(plain).not.toHaveProperty('invokerUsers');
      expect(plain).not.toHaveProperty('incidentCheck');
    });

    // issue 11 (H2): migration 0018 on both dialects.
    it('bounds: a grant keeps its extensions and override; co-responders join once and reveal once', async () => {
      const store = await open();
      const s = await seed(store);
      const grant = { ...requestedGrant(s, 'grt_b'), extensions: 2, overrideReason: 'second outage' };
      await store.transaction((tx) => tx.grants.insert(grant));
      expect(await store.transaction((tx) => tx.grants.findById(grant.id))).toStrictEqual(grant);
      const frank = { grantId: grant.id, userId: asUserId('usr_frank'), userName: 'frank', reason: 'helping', joinedAt: at(5) };
      const result = await store.transaction(async (tx) => ({
        first: await tx.coResponders.add(frank),
        again: await tx.coResponders.add(frank),
        revealed: await tx.coResponders.markRevealed(grant.id, frank.userId, at(6)),
        revealedAgain: await tx.coResponders.markRevealed(grant.id, frank.userId, at(7)),
        list: await tx.coResponders.list(grant.id),
      }));
      expect(result).toStrictEqual({ first: true, again: false, revealed: true, revealedAgain: false, list: [{ ...frank, revealedAt: at(6) }] });
    });

    it('grants: insert, update and findById round-trip every field, certification included', async () => {
      const store = await open();
      const s = await seed(store);
      const requested = requestedGrant(s, 'grt_a');
      const closed = closedGrant(s, 'grt_a');
      await store.transaction((tx) => tx.grants.insert(requested));
      expect(await store.transaction((tx) => tx.grants.findById(requested.id))).toStrictEqual(requested);
      await store.transaction((tx) => tx.grants.update(closed, requested));
      expect(await store.transaction((tx) => tx.grants.findById(requested.id))).toStrictEqual(closed);
      expect(await store.transaction((tx) => tx.grants.findById(asGrantId('grt_missing')))).toBeUndefined();
    });

    it('catalog: setAccountSecret is a compare-and-set on the version (two writers of version N+1: one wins)', async () => {
      const store = await open();
      const s = await seed(store);
      await store.transaction((tx) => tx.catalog.setAccountSecret(s.account.id, 'sealed:first', 0));
      const second = store.transaction((tx) => tx.catalog.setAccountSecret(s.account.id, 'sealed:second', 0));
      await expect(second).rejects.toMatchObject({ code: 'conflict' });
      const account = await store.transaction((tx) => tx.catalog.findAccountById(s.account.id));
      expect(account).toMatchObject({ secretSealed: 'sealed:first', secretVersion: 1, staging: 'staged' });
    });

    it('grants: holdingAccount and accountsHeld filter with the domain rule, in SQL', async () => {
      const store = await open();
      const s = await seed(store);
      const states: [string, Partial<Grant>][] = [
        ['grt_h1', { state: 'active' }],
        ['grt_h2', { state: 'failed' }],
        ['grt_h3', { state: 'failed', revokedAt: at(9) }],
        ['grt_h4', { state: 'closed' }],
        ['grt_h5', { state: 'awaiting-quorum' }],
      ];
      await store.transaction(async (tx) => {
        for (const [i, [id, fields]] of states.entries()) await tx.grants.insert({ ...requestedGrant(s, id, at(i)), ...fields });
      });
      const holding = await store.transaction((tx) => tx.grants.holdingAccount(s.account.id));
      expect(holding.map((g) => g.id)).toEqual(['grt_h1', 'grt_h2', 'grt_h5']);
      expect(holding.every(holdsAccount)).toBe(true);
      expect(await store.transaction((tx) => tx.grants.accountsHeld())).toEqual([s.account.id]);
      await store.transaction((tx) => tx.grants.update({ ...holding[0]!, state: 'closed' }, holding[0]!));
      await store.transaction((tx) => tx.grants.update({ ...holding[1]!, revokedAt: at(10) }, holding[1]!));
      await store.transaction((tx) => tx.grants.update({ ...holding[2]!, state: 'expired' }, holding[2]!));
      expect(await store.transaction((tx) => tx.grants.accountsHeld())).toEqual([]);
    });

    it('grants: an update guards the reveal too, so two reveals of one active grant cannot both win', async () => {
      const store = await open();
      const s = await seed(store);
      const active: Grant = { ...requestedGrant(s, 'grt_r'), state: 'active' };
      await store.transaction((tx) => tx.grants.insert(active));
      await store.transaction((tx) => tx.grants.update({ ...active, revealedAt: at(1) }, active));
      const again = store.transaction((tx) => tx.grants.update({ ...active, revealedAt: at(2) }, active));
      await expect(again).rejects.toMatchObject({ code: 'already_revealed' });
      expect((await store.transaction((tx) => tx.grants.findById(active.id)))?.revealedAt).toEqual(at(1));
    });

    it('grants: list filters by state and account, newest first, with a limit', async () => {
      const store = await open();
      const s = await seed(store);
      await store.transaction(async (tx) => {
        await tx.grants.insert(requestedGrant(s, 'grt_1', at(1)));
        await tx.grants.insert({ ...requestedGrant(s, 'grt_2', at(2)), state: 'active' });
        await tx.grants.insert({ ...requestedGrant(s, 'grt_3', at(3)), state: 'revoking' });
      });
      const ids = (grants: Grant[]) => grants.map((g) => g.id);
      const list = (filter: { states?: GrantState[]; limit?: number }) =>
        store.transaction(async (tx) => ids(await tx.grants.list({ ...filter, accountId: s.account.id })));
      expect(await list({})).toEqual(['grt_3', 'grt_2', 'grt_1']);
      expect(await list({ states: ['active', 'revoking'] })).toEqual(['grt_3', 'grt_2']);
      expect(await list({ states: [] })).toEqual([]);
      expect(await list({ limit: 1 })).toEqual(['grt_3']);
    });

    // issue 11 (H3): the history query.
    it('grants: history filters (account name, requester, incident, since/until, overdue) and the keyset page, all in SQL', async () => {
      const store = await open();
      const s = await seed(store);
      await store.transaction(async (tx) => {
        // Two cases share a created_at: the keyset breaks the tie on the id.
        await tx.grants.insert(requestedGrant(s, 'grt_1', at(1)));
        await tx.grants.insert({ ...requestedGrant(s, 'grt_2', at(2)), incident: 'INC-7' });
        await tx.grants.insert({ ...requestedGrant(s, 'grt_3a', at(3)), requesterId: s.owner.id, requesterName: s.owner.name });
        await tx.grants.insert({ ...requestedGrant(s, 'grt_3b', at(3)), state: 'awaiting-certification', certificationOverdueAt: at(9) });
        await tx.grants.insert({ ...requestedGrant(s, 'grt_4', at(4)), state: 'awaiting-certification' });
      });
      const ids = (grants: Grant[]) => grants.map((g) => g.id);
      const list = (filter: GrantListFilter) => store.transaction(async (tx) => ids(await tx.grants.list(filter)));
      expect(await list({ accountName: 'bg-db1' })).toEqual(['grt_4', 'grt_3b', 'grt_3a', 'grt_2', 'grt_1']);
      expect(await list({ accountName: "bg-db1' or '1'='1" })).toEqual([]);
      expect(await list({ requesterName: s.owner.name })).toEqual(['grt_3a']);
      expect(await list({ incident: 'INC-7' })).toEqual(['grt_2']);
      expect(await list({ since: at(2), until: at(4) })).toEqual(['grt_3b', 'grt_3a', 'grt_2']);
      expect(await list({ states: ['awaiting-certification'], certificationOverdue: true })).toEqual(['grt_3b']);
      expect(await list({ certificationOverdue: false, states: ['awaiting-certification'] })).toEqual(['grt_4']);
      // Pages of two: each starts strictly after the last of the previous one; an insert in between shifts nothing.
      expect(await list({ limit: 2 })).toEqual(['grt_4', 'grt_3b']);
      await store.transaction((tx) => tx.grants.insert(requestedGrant(s, 'grt_5', at(5))));
      expect(await list({ limit: 2, before: { createdAt: at(3), id: asGrantId('grt_3b') } })).toEqual(['grt_3a', 'grt_2']);
      expect(await list({ limit: 2, before: { createdAt: at(2), id: asGrantId('grt_2') } })).toEqual(['grt_1']);
      expect(await list({ requesterId: s.user.id, requesterName: s.owner.name })).toEqual([]);
    });

    it('grants: the certification deadline, misuse suspected and a resolution round-trip', async () => {
      const store = await open();
      const s = await seed(store);
      const closed = closedGrant(s, 'grt_rv');
      const reviewed: Grant = {
        ...closed,
        certificationOverdueAt: at(5),
        certification: { ...closed.certification!, misuseSuspected: true },
        resolution: { by: s.owner.id, byName: s.owner.name, at: at(8), note: 'resolved "quoted" ✓' },
      };
      await store.transaction((tx) => tx.grants.insert(reviewed));
      expect(await store.transaction((tx) => tx.grants.findById(reviewed.id))).toStrictEqual(reviewed);
    });

    it('audit: eventsAbout returns one subject\'s events in chain order, paged by seq', async () => {
      const store = await open();
      await store.transaction(async (tx) => {
        await tx.audit.lockHead();
        for (const seq of [1, 2, 3, 4]) await tx.audit.insert(event(seq, { subject: seq % 2 === 0 ? 'gr_even' : 'gr_odd' }));
      });
      const seqs = (subject: string, after: number, limit: number) => store.transaction(async (tx) => (await tx.audit.eventsAbout(subject, after, limit)).map((e) => e.seq));
      expect(await seqs('gr_even', 0, 10)).toEqual([2, 4]);
      expect(await seqs('gr_odd', 1, 10)).toEqual([3]);
      expect(await seqs('gr_odd', 0, 1)).toEqual([1]);
      expect(await seqs('gr_none', 0, 10)).toEqual([]);
    });

    it('grants: an update with a stale expectedState fails with conflict and changes nothing', async () => {
      const store = await open();
      const s = await seed(store);
      const grant = requestedGrant(s, 'grt_c');
      await store.transaction((tx) => tx.grants.insert(grant));
      const stale = store.transaction((tx) => tx.grants.update({ ...grant, state: 'revoking' }, { ...grant, state: 'active' }));
      await expect(stale).rejects.toMatchObject({ name: 'AppError', code: 'conflict' });
      const missing = store.transaction((tx) => tx.grants.update({ ...grant, id: asGrantId('grt_none') }, grant));
      await expect(missing).rejects.toMatchObject({ code: 'not_found' });
      expect(await store.transaction((tx) => tx.grants.findById(grant.id))).toStrictEqual(grant);
    });

    it('jobs: schedule, claimDue with lease exclusion, retry, complete, nextDueAt', async () => {
      const store = await open();
      const job = await store.transaction((tx) => tx.jobs.schedule({ kind: 'expire', grantId: asGrantId('grt_j'), dueAt: at(100) }));
      const fresh = { id: job.id, kind: 'expire', grantId: 'grt_j', dueAt: at(100), attempts: 0, lastError: undefined, fence: 0, leaseOwner: undefined, leaseUntil: undefined };
      expect(job).toStrictEqual(fresh);
      expect(job.id).toMatch(/^job_/);
      const claim = (now: number, owner = 'w1') => store.transaction((tx) => tx.jobs.claimDue(at(now), owner, at(now + 1000), 10));
      const nextDueAt = () => store.transaction((tx) => tx.jobs.nextDueAt());
      expect(await nextDueAt()).toEqual(at(100));
      expect(await claim(99)).toEqual([]);
      const [first] = await claim(100);
      expect(first).toStrictEqual({ ...fresh, fence: 1, leaseOwner: 'w1', leaseUntil: at(1100) });
      expect(await claim(500, 'w2')).toEqual([]); // leased to w1 until 1100
      expect(await nextDueAt()).toEqual(at(1100));
      const [second] = await claim(1100, 'w2'); // the lease ended: w1 died
      expect(second).toMatchObject({ fence: 2, leaseOwner: 'w2' });
      // Fencing: w1's claim is stale now; nothing it does counts.
      expect(await store.transaction((tx) => tx.jobs.renew(first!, at(9000)))).toBe(false);
      expect(await store.transaction((tx) => tx.jobs.complete(first!))).toBe(false);
      expect(await store.transaction((tx) => tx.jobs.retry(first!, at(9000), 'stale'))).toBe(false);
      expect(await store.transaction((tx) => tx.jobs.renew(second!, at(2500)))).toBe(true);
      expect(await nextDueAt()).toEqual(at(2500));
      expect(await store.transaction((tx) => tx.jobs.retry(second!, at(5000), 'target down'))).toBe(true);
      const retried = { ...fresh, dueAt: at(5000), attempts: 1, lastError: 'target down', fence: 2 };
      expect(await store.transaction((tx) => tx.jobs.findFor(asGrantId('grt_j')))).toStrictEqual([retried]);
      expect(await nextDueAt()).toEqual(at(5000)); // the lease was cleared
      const [third] = await claim(5000);
      expect(third).toStrictEqual({ ...retried, fence: 3, leaseOwner: 'w1', leaseUntil: at(6000) });
      expect(await store.transaction((tx) => tx.jobs.complete(second!))).toBe(false);
      expect(await store.transaction((tx) => tx.jobs.complete(third!))).toBe(true);
      expect(await store.transaction((tx) => tx.jobs.findFor(asGrantId('grt_j')))).toEqual([]);
      expect(await nextDueAt()).toBeUndefined();
    });

    it('outbox: per channel only the oldest message not yet sent is claimed; claims are fenced; dead ones revive', async () => {
      const store = await open();
      const payload = (n: number) => ({ event: 'grant.activated' as const, id: `evt-${n}`, at: at(n).toISOString(), severity: 'critical' as const, summary: `alert ${n}` });
      await store.transaction((tx) =>
        tx.outbox.enqueue([
          { channel: 'a', payload: payload(1), dueAt: at(0) },
          { channel: 'b', payload: payload(2), dueAt: at(0) },
          { channel: 'a', payload: payload(3), dueAt: at(0) },
        ]),
      );
      const claim = (now: number, owner = 'relay-1') => store.transaction((tx) => tx.outbox.claimDue(at(now), owner, at(now + 1000), 10));
      const first = await claim(0);
      expect(first.map((m) => [m.channel, m.payload.id, m.fence])).toEqual([['a', 'evt-1', 1], ['b', 'evt-2', 1]]);
      expect(await claim(500, 'relay-2')).toEqual([]); // leased, and evt-3 waits behind evt-1
      const a1 = first[0]!;
      expect(await store.transaction((tx) => tx.outbox.markSent(first[1]!, at(100)))).toBe(true);
      // evt-1 fails: back to pending later; its channel still holds evt-3 behind it (order).
      expect(await store.transaction((tx) => tx.outbox.markFailed(a1, 'HTTP 500', { dueAt: at(5000) }))).toBe(true);
      expect((await claim(2000)).map((m) => m.payload.id)).toEqual([]);
      const again = await claim(5000);
      expect(again.map((m) => [m.payload.id, m.attempts, m.fence])).toEqual([['evt-1', 1, 2]]);
      // The stale claim (fence 1) can no longer record anything.
      expect(await store.transaction((tx) => tx.outbox.markSent(a1, at(5001)))).toBe(false);
      expect(await store.transaction((tx) => tx.outbox.markFailed(again[0]!, 'HTTP 500', 'dead'))).toBe(true);
      expect(await store.transaction((tx) => tx.outbox.countDead())).toBe(1);
      expect((await claim(6000)).map((m) => m.payload.id)).toEqual(['evt-3']); // the dead one no longer blocks
      expect(await store.transaction((tx) => tx.outbox.revive(a1.id, at(7000)))).toBe(true);
      expect(await store.transaction((tx) => tx.outbox.find(a1.id))).toMatchObject({ state: 'pending', attempts: 0 });
    });

    it('jobs: release frees one owner\'s leases, or those of the earlier lives of an instance', async () => {
      const store = await open();
      await store.transaction(async (tx) => {
        for (let i = 0; i < 3; i++) await tx.jobs.schedule({ kind: 'revoke', grantId: asGrantId(`grt_r${i}`), dueAt: at(i) });
      });
      const claim = (owner: string) => store.transaction((tx) => tx.jobs.claimDue(at(10), owner, at(100_000), 1));
      await claim('inst_a/life1');
      await claim('inst_a/life2');
      await claim('inst_b/life1');
      // inst_a restarted as life3: both earlier lives died holding leases; inst_b's is not ours.
      expect(await store.transaction((tx) => tx.jobs.release('inst_a/life3', { otherLivesOf: 'inst_a/' }))).toBe(2);
      expect((await claim('inst_a/life3')).length).toBe(1);
      expect(await store.transaction((tx) => tx.jobs.release('inst_b/life1'))).toBe(1);
      expect(await store.transaction((tx) => tx.jobs.release('inst_b/life1'))).toBe(0);
    });

    it('jobs: two concurrent transactions claim disjoint jobs', async () => {
      const store = await open();
      await store.transaction(async (tx) => {
        for (let i = 0; i < 6; i++) await tx.jobs.schedule({ kind: 'revoke', grantId: asGrantId(`grt_${i}`), dueAt: at(i) });
      });
      const claim = (owner: string) => store.transaction((tx) => tx.jobs.claimDue(at(10), owner, at(1000), 3));
      const [a, b] = await Promise.all([claim('a'), claim('b')]);
      const ids = [...a, ...b].map((job: JobRecord) => job.id);
      expect(ids).toHaveLength(6);
      expect(new Set(ids).size).toBe(6);
    });

    it.runIf(harness.name === 'postgres')('jobs: an open claim is skipped, not waited for (FOR UPDATE SKIP LOCKED)', async () => {
      const store = await open();
      await store.transaction(async (tx) => {
        for (let i = 0; i < 4; i++) await tx.jobs.schedule({ kind: 'revoke', grantId: asGrantId(`grt_${i}`), dueAt: at(i) });
      });
      let other: JobRecord[] = [];
      // The second claim runs while the first transaction still holds its rows.
      const mine = await store.transaction(async (tx) => {
        const claimed = await tx.jobs.claimDue(at(10), 'a', at(1000), 2);
        other = await store.transaction((tx2) => tx2.jobs.claimDue(at(10), 'b', at(1000), 10));
        return claimed;
      });
      expect(mine.map((j) => (j.kind === 'stage' || j.kind === 'drill' ? j.accountId : j.grantId))).toEqual(['grt_0', 'grt_1']);
      expect(other.map((j) => (j.kind === 'stage' || j.kind === 'drill' ? j.accountId : j.grantId))).toEqual(['grt_2', 'grt_3']);
    });

    it('audit: lockHead, insert advances the head, events page, checkpoints move checkpointAt', async () => {
      const store = await open();
      await store.transaction(async (tx) => {
        expect(await tx.audit.lockHead()).toEqual({ seq: 0, hash: zeroHash, checkpointAt: undefined });
        for (const seq of [1, 2, 3]) await tx.audit.insert(event(seq));
        await tx.audit.insertCheckpoint({ seq: 3, hash: hash(3), at: at(3), signature: 'c2ln' });
      });
      const head = await store.transaction((tx) => tx.audit.lockHead());
      expect(head).toEqual({ seq: 3, hash: hash(3), checkpointAt: at(3) });
      expect(await store.transaction((tx) => tx.audit.events(2, 1))).toStrictEqual([event(2)]);
      expect(await store.transaction((tx) => tx.audit.events(1, 100))).toStrictEqual([event(1), event(2), event(3)]);
      expect(await store.transaction((tx) => tx.audit.checkpoints())).toStrictEqual([{ seq: 3, hash: hash(3), at: at(3), signature: 'c2ln' }]);
    });

    it('audit: an event that does not extend the head fails closed', async () => {
      const store = await open();
      await store.transaction((tx) => tx.audit.insert(event(1)));
      await expect(store.transaction((tx) => tx.audit.insert(event(3)))).rejects.toMatchObject({ code: 'audit_failed' });
      await expect(store.transaction((tx) => tx.audit.insert(event(2, { prevHash: hash(9) })))).rejects.toMatchObject({ code: 'audit_failed' });
      await expect(store.transaction((tx) => tx.audit.insert(event(1)))).rejects.toMatchObject({ code: 'audit_failed' });
      expect(await store.transaction((tx) => tx.audit.lockHead())).toMatchObject({ seq: 1, hash: hash(1) });
    });

    it('audit: concurrent appends are serialized on the head', async () => {
      const store = await open();
      const append = () =>
        store.transaction(async (tx) => {
          const head = await tx.audit.lockHead();
          await tx.audit.insert(event(head.seq + 1, { prevHash: head.hash }));
        });
      await Promise.all(Array.from({ length: 8 }, append));
      const events = await store.transaction((tx) => tx.audit.events(1, 100));
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    });

    it('I2: a failed transaction leaves neither the state change nor its audit event', async () => {
      const store = await open();
      const s = await seed(store);
      const grant = requestedGrant(s, 'grt_i2');
      await store.transaction((tx) => tx.grants.insert(grant));
      const failing = store.transaction(async (tx) => {
        await tx.grants.update({ ...grant, state: 'active', activatedAt: at(1) }, grant);
        await tx.jobs.schedule({ kind: 'expire', grantId: grant.id, dueAt: grant.expiresAt });
        const head = await tx.audit.lockHead();
        await tx.audit.insert(event(head.seq + 1, { prevHash: head.hash, subject: grant.id }));
        throw new Error('notifier outbox write failed');
      });
      await expect(failing).rejects.toThrow('notifier outbox write failed');
      const after = await store.transaction(async (tx) => ({
        grant: await tx.grants.findById(grant.id),
        head: await tx.audit.lockHead(),
        events: await tx.audit.events(1, 10),
        jobs: await tx.jobs.findFor(grant.id),
      }));
      expect(after).toStrictEqual({ grant, head: { seq: 0, hash: zeroHash, checkpointAt: undefined }, events: [], jobs: [] });
    });

    it('settings: set overwrites, ifAbsent keeps and returns the stored value', async () => {
      const store = await open();
      const result = await store.transaction(async (tx) => [
        await tx.settings.get('audit.publicKey'),
        await tx.settings.set('audit.publicKey', 'first', { ifAbsent: true }),
        await tx.settings.set('audit.publicKey', 'second', { ifAbsent: true }),
        await tx.settings.get('audit.publicKey'),
        await tx.settings.set('audit.publicKey', 'third'),
        await tx.settings.get('audit.publicKey'),
      ]);
      expect(result).toEqual([undefined, 'first', 'first', 'first', 'third', 'third']);
    });

    it('sql-injection: hostile names and keys are stored as data', async () => {
      const store = await open();
      const hostile = `x'); drop table users; --`;
      const user = await store.transaction((tx) => tx.users.upsert({ name: hostile, roles: ['admin'] }, t0));
      await store.transaction((tx) => tx.settings.set(hostile, `"'\\`));
      expect(await store.transaction((tx) => tx.users.findByName(hostile))).toStrictEqual(user);
      expect(await store.transaction((tx) => tx.settings.get(hostile))).toBe(`"'\\`);
    });

    // issue 13 (store reads)
    it('read: sees what committed before it, the head without its lock, and refuses a write', async () => {
      const store = await open();
      const s = await seed(store);
      await store.transaction((tx) => tx.settings.set('k', 'v1'));
      const seen = await store.read(async (tx) => ({
        user: await tx.users.findByName('alice'),
        account: (await tx.catalog.findAccountById(s.account.id))?.name,
        setting: await tx.settings.get('k'),
        head: await tx.audit.head(),
      }));
      expect(seen).toStrictEqual({ user: s.user, account: 'bg-db1', setting: 'v1', head: { seq: 0, hash: zeroHash, checkpointAt: undefined } });
      await store.transaction((tx) => tx.settings.set('k', 'v2'));
      expect(await store.read((tx) => tx.settings.get('k'))).toBe('v2');
      // The handle has no writes in its type; at run time the transaction refuses one too.
      const sneaky = store.read((tx) => (tx.settings as unknown as { set(key: string, value: string): Promise<string> }).set('k', 'v3'));
      await expect(sneaky).rejects.toThrow(/read.?only/i);
      expect(await store.read((tx) => tx.settings.get('k'))).toBe('v2');
    });

    // issue 13 (store reads)
    it.runIf(harness.name === 'sqlite')('read: completes while another connection holds BEGIN IMMEDIATE on the file, and sees its commit after', async () => {
      const store = await open();
      await store.transaction((tx) => tx.settings.set('k', 'before'));
      const other = new SqliteDatabase(harness.file?.() ?? '');
      try {
        other.exec('begin immediate');
        other.prepare(`update settings set value = 'uncommitted' where key = 'k'`).run();
        // A read that waited for the write lock would wait the whole busy timeout (5 s), then fail.
        const started = Date.now();
        expect(await store.read((tx) => tx.settings.get('k'))).toBe('before');
        expect(Date.now() - started).toBeLessThan(2_500);
        other.exec('commit');
        expect(await store.read((tx) => tx.settings.get('k'))).toBe('uncommitted');
      } finally {
        if (other.inTransaction) other.exec('rollback');
        other.close();
      }
    });

    it.runIf(harness.name === 'sqlite')('close: lets go of the file even when nothing was read (no descriptor left on it)', async () => {
      const descriptorsOn = (file: string) =>
        readdirSync('/proc/self/fd').filter((fd) => {
          try {
            return readlinkSync(`/proc/self/fd/${fd}`) === file;
          } catch {
            return false; // closed between the listing and the look
          }
        });
      const file = join(await mkdtemp(join(tmpdir(), 'bg-store-close-')), 'breakglass.db');
      const unread = await createSqliteStore(file);
      await unread.transaction((tx) => tx.settings.set('k', 'v'));
      expect(descriptorsOn(file).length).toBeGreaterThan(0);
      await unread.close();
      // The read-only connection for `read` was opened but never used: Kysely never closed it.
      expect(descriptorsOn(file)).toStrictEqual([]);
      const read = await createSqliteStore(file);
      expect(await read.read((tx) => tx.settings.get('k'))).toBe('v');
      await read.close();
      expect(descriptorsOn(file)).toStrictEqual([]);
      await rm(dirname(file), { recursive: true, force: true });
    });

    // issue 14 (enroll): migration 0025 and local credentials on both dialects.
    it('local credentials: put, find, replace on a new enrolment; the invite holder is read without using the code', async () => {
      const store = await open();
      const result = await store.transaction(async (tx) => {
        const alice = await tx.users.upsert({ name: 'alice', roles: ['responder'] }, t0);
        await tx.tokens.addEnrolmentCode({ codeHash: 'e1', userId: alice.id, createdBy: 'admin', createdAt: t0, expiresAt: at(1_000) });
        const holder = await tx.tokens.enrolmentCodeHolder('e1', at(500));
        const stillUsable = await tx.tokens.useEnrolmentCode('e1', at(500));
        const afterUse = await tx.tokens.enrolmentCodeHolder('e1', at(600));
        const none = await tx.localCredentials.find(alice.id);
        await tx.localCredentials.put({ userId: alice.id, passwordHash: '$argon2id$a', totpSecretSealed: '{"sealed":1}', recoveryHashes: ['h1', 'h2'] }, at(700));
        const first = await tx.localCredentials.find(alice.id);
        await tx.localCredentials.put({ userId: alice.id, passwordHash: '$argon2id$b', totpSecretSealed: '{"sealed":2}', recoveryHashes: [] }, at(800));
        const replaced = await tx.localCredentials.find(alice.id);
        return { alice, holder, stillUsable, afterUse, none, first, replaced, expired: await tx.tokens.enrolmentCodeHolder('e1', at(2_000)) };
      });
      expect(result.holder).toBe(result.alice.id);
      expect(result.stillUsable).toBe(result.alice.id);
      expect(result.afterUse).toBeUndefined();
      expect(result.expired).toBeUndefined();
      expect(result.none).toBeUndefined();
      expect(result.first).toStrictEqual({ userId: result.alice.id, passwordHash: '$argon2id$a', totpSecretSealed: '{"sealed":1}', totpLastStep: null, recoveryHashes: ['h1', 'h2'], createdAt: at(700), updatedAt: at(700) });
      expect(result.replaced).toStrictEqual({ userId: result.alice.id, passwordHash: '$argon2id$b', totpSecretSealed: '{"sealed":2}', totpLastStep: null, recoveryHashes: [], createdAt: at(700), updatedAt: at(800) });
      // The row belongs to a user: a user id that does not exist is refused by the foreign key.
      await expect(
        store.transaction((tx) => tx.localCredentials.put({ userId: asUserId('usr_missing'), passwordHash: 'x', totpSecretSealed: 'y', recoveryHashes: [] }, t0)),
      ).rejects.toThrow();
    });
  });
});
