/**
 * API tokens and enrolment on the test bed: tokens end (revoked, expired, their user disabled or
 * removed from the catalog), and nobody mints a working token for another person.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import { hashToken } from '../../crypto/index.js';
import { isAppError, type AppError } from '../../errors/index.js';
import { createSqliteStore } from '../../store/create-store.js';
import type { Actor } from '../../domain/index.js';
import { listAccounts } from '../catalog/list-accounts.js';
import { certify } from '../grants/certify.js';
import { endGrant } from '../grants/end-grant.js';
import { invoke } from '../grants/invoke.js';
import { reveal } from '../grants/reveal.js';
import { inviteUser, redeemInvite } from './enrolment.js';
import { authenticate, checkedTokenTtlMs, checkedTokens, createToken } from './identity.js';
import { listTokens, revokeToken, whoami } from './tokens.js';

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isAppError(error)) throw new Error(`expected a refusal, got ${String(error)}`);
  return error;
}

const hours = (n: number) => n * 3_600_000;
const ask = { account: 'db-ephemeral', condition: 'outage', reason: 'db down', incident: 'INC-7', ttl: '15m' };

describe('API tokens and enrolment', () => {
  let bed: TestBed;
  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(`${bedCatalog}users:
  - { name: robot, roles: [incident-owner], service: true }
  - { name: root, roles: [admin, responder] }
  - { name: newbie, roles: [] }
`);
  });
  afterEach(async () => {
    await bed.close();
  });

  const actorOf = async (token: string): Promise<Actor> => {
    const actor = await authenticate(bed.ctx, token);
    if (!actor) throw new Error('the token did not authenticate');
    return actor;
  };
  const enrol = async (user: string, ttl?: string) => {
    const { code } = await inviteUser(bed.ctx, bed.actors.admin, user);
    return redeemInvite(bed.ctx, code, ttl === undefined ? {} : { ttl });
  };

  it('no impersonation: an admin cannot create a token for another person', async () => {
    const error = await refusal(createToken(bed.ctx, bed.actors.admin, 'alice'));
    expect(error.code).toBe('forbidden');
    expect(error.message).toContain('breakglass user invite');
    expect(await listTokens(bed.ctx, bed.actors.admin, { user: 'alice', all: true })).toStrictEqual([]);
  });

  it('no impersonation: admins create tokens only for service users; anyone with a role creates their own', async () => {
    const robot = await createToken(bed.ctx, bed.actors.admin, 'robot', { ttl: '7d' });
    expect((await actorOf(robot.token)).name).toBe('robot');
    expect(robot.expiresAt).toStrictEqual(new Date(bed.clock.now().getTime() + hours(24 * 7)));
    const own = await createToken(bed.ctx, bed.actors.alice, 'alice');
    expect(await actorOf(own.token)).toMatchObject({ name: 'alice', tokenId: own.id, tokenCreatorId: bed.actors.alice.id });
    // A responder cannot mint for a service user: that is the admins' call.
    expect((await refusal(createToken(bed.ctx, bed.actors.alice, 'robot'))).code).toBe('forbidden');
  });

  it('enrolment: an invite code is redeemed once, by the invited user, for a token of their own', async () => {
    const invite = await inviteUser(bed.ctx, bed.actors.admin, 'bob');
    expect(invite.expiresAt).toStrictEqual(new Date(bed.clock.now().getTime() + hours(24)));
    const issued = await redeemInvite(bed.ctx, invite.code, { ttl: '30d' });
    expect(issued.expiresAt).toStrictEqual(new Date(bed.clock.now().getTime() + hours(24 * 30)));
    const bob = await actorOf(issued.token);
    expect(bob).toMatchObject({ name: 'bob', tokenId: issued.id, tokenCreatorId: bed.actors.bob.id });
    expect((await refusal(redeemInvite(bed.ctx, invite.code))).code).toBe('unauthenticated');
    const [listed] = await listTokens(bed.ctx, bed.actors.admin, { user: 'bob' });
    expect(listed).toMatchObject({ id: issued.id, user: 'bob', createdBy: 'bob' });
    // Only hashes are kept: neither the code nor the token appears anywhere in the chain.
    const chain = JSON.stringify(await bed.auditEvents());
    expect(chain).not.toContain(invite.code);
    expect(chain).not.toContain(issued.token);
    expect(chain).not.toContain(hashToken(issued.token));
    expect((await bed.audit()).slice(-2)).toStrictEqual(['user.invited', 'token.redeemed']);
  });

  it('enrolment: a code is valid for at most 24 h', async () => {
    const { code } = await inviteUser(bed.ctx, bed.actors.admin, 'bob');
    bed.clock.advance(hours(24));
    expect((await refusal(redeemInvite(bed.ctx, code))).code).toBe('unauthenticated');
    expect((await refusal(inviteUser(bed.ctx, bed.actors.admin, 'bob', { ttl: '25h' }))).code).toBe('validation');
  });

  it('tokens end: a revoked token gets refused at once, and the revocation is audited', async () => {
    const issued = await enrol('alice');
    const alice = await actorOf(issued.token);
    const revoked = await revokeToken(bed.ctx, alice, issued.id);
    expect(revoked.revokedAt).toStrictEqual(bed.clock.now());
    expect(await authenticate(bed.ctx, issued.token)).toBeUndefined();
    expect(await bed.audit()).toContain('token.revoked');
    expect(await listTokens(bed.ctx, bed.actors.admin, { user: 'alice' })).toStrictEqual([]);
  });

  it('tokens end: an expired token gets refused at once', async () => {
    const issued = await enrol('alice', '1h');
    await actorOf(issued.token);
    bed.clock.advance(hours(1));
    expect(await authenticate(bed.ctx, issued.token)).toBeUndefined();
  });

  it('tokens end: only admins revoke and list other users\' tokens', async () => {
    const bobs = await enrol('bob');
    const alices = await enrol('alice');
    const alice = await actorOf(alices.token);
    expect((await refusal(revokeToken(bed.ctx, alice, bobs.id))).code).toBe('forbidden');
    expect((await refusal(listTokens(bed.ctx, alice, { user: 'bob' }))).code).toBe('forbidden');
    expect((await listTokens(bed.ctx, alice)).map((t) => t.user)).toStrictEqual(['alice']);
    expect((await listTokens(bed.ctx, bed.actors.admin)).map((t) => t.user).sort()).toStrictEqual(['alice', 'bob']);
    await revokeToken(bed.ctx, bed.actors.admin, bobs.id);
    expect(await authenticate(bed.ctx, bobs.token)).toBeUndefined();
  });

  it('tokens end: disabling a user in the catalog invalidates every token of theirs at once', async () => {
    const first = await enrol('alice');
    const second = await createToken(bed.ctx, await actorOf(first.token), 'alice');
    await bed.apply(`${bedCatalog}users:\n  - { name: alice, roles: [responder], disabled: true }\n  - { name: robot, roles: [incident-owner], service: true }\n  - { name: root, roles: [admin, responder] }\n  - { name: newbie, roles: [] }\n`);
    expect(await authenticate(bed.ctx, first.token)).toBeUndefined();
    expect(await authenticate(bed.ctx, second.token)).toBeUndefined();
    const disabled = (await bed.auditEvents()).find((e) => e.action === 'user.disabled');
    expect(disabled).toMatchObject({ subject: 'alice', details: { reason: 'disabled: true in the catalog', revokedTokens: 2 } });
    // A disabled user cannot be invited either; enabling them again does not revive old tokens.
    expect((await refusal(inviteUser(bed.ctx, bed.actors.admin, 'alice'))).code).toBe('conflict');
    await bed.apply(`${bedCatalog}users:\n  - { name: robot, roles: [incident-owner], service: true }\n  - { name: root, roles: [admin, responder] }\n  - { name: newbie, roles: [] }\n`);
    expect(await bed.audit()).toContain('user.enabled');
    expect(await authenticate(bed.ctx, first.token)).toBeUndefined();
  });

  it('tokens end: a user the catalog no longer lists is disabled (audited as user.disabled); the first admin is not the catalog\'s', async () => {
    const robot = await createToken(bed.ctx, bed.actors.admin, 'robot');
    // Like the first admin from `init`: created by the engine, never listed by a catalog.
    const first = await bed.store.transaction((tx) => tx.users.upsert({ name: 'first-admin', roles: ['admin'] }, bed.clock.now()));
    const root = (await bed.store.transaction((tx) => tx.users.findByName('root')))!;
    // Removing the admin who applies would lock them out: refused, naming where, and nothing changes.
    const error = await refusal(bed.apply(bedCatalog, { id: root.id, name: root.name, roles: root.roles }));
    expect([error.code, error.path]).toStrictEqual(['validation', 'users']);
    expect(await authenticate(bed.ctx, robot.token)).toBeDefined();
    await bed.apply(bedCatalog);
    expect(await authenticate(bed.ctx, robot.token)).toBeUndefined();
    const disabled = (await bed.auditEvents()).filter((e) => e.action === 'user.disabled').map((e) => e.subject);
    expect(disabled.sort()).toStrictEqual(['newbie', 'robot', 'root']);
    expect((await bed.store.transaction((tx) => tx.users.findById(first.id)))?.disabled).toBe(false);
  });

  it('a user with no role can do nothing but whoami', async () => {
    const issued = await enrol('newbie');
    const newbie = await actorOf(issued.token);
    expect(whoami(newbie)).toStrictEqual({ user: 'newbie', roles: [], tokenId: issued.id });
    expect((await refusal(listAccounts(bed.ctx, newbie))).code).toBe('forbidden');
    expect((await refusal(listTokens(bed.ctx, newbie))).code).toBe('forbidden');
    expect((await refusal(createToken(bed.ctx, newbie, 'newbie'))).code).toBe('forbidden');
    expect((await refusal(revokeToken(bed.ctx, newbie, issued.id))).code).toBe('forbidden');
  });

  it('separation of duties: a token created by a grant\'s requester is refused for certifying that grant', async () => {
    const root = (await bed.store.transaction((tx) => tx.users.findByName('root')))!;
    const rootActor: Actor = { id: root.id, name: root.name, roles: root.roles };
    const grant = await invoke(bed.ctx, rootActor, ask);
    await endGrant(bed.ctx, rootActor, grant.id);
    await bed.runDue();
    const minted = await actorOf((await createToken(bed.ctx, rootActor, 'robot')).token);
    const error = await refusal(certify(bed.ctx, minted, grant.id, { necessary: true, scoped: true, removed: true, note: 'n' }));
    expect(error.code).toBe('separation_of_duties');
    // The same service user, with a token someone else minted, may certify.
    const fair = await actorOf((await createToken(bed.ctx, bed.actors.admin, 'robot')).token);
    expect((await certify(bed.ctx, fair, grant.id, { necessary: true, scoped: true, removed: true, note: 'n' })).state).toBe('closed');
    const certified = (await bed.auditEvents()).find((e) => e.action === 'grant.certified');
    expect(certified?.details['tokenId']).toBe(fair.tokenId);
  });

  it('reveal records the token id it was asked with', async () => {
    const alice = await actorOf((await enrol('alice')).token);
    const grant = await invoke(bed.ctx, alice, ask);
    await reveal(bed.ctx, alice, grant.id);
    const revealed = (await bed.auditEvents()).find((e) => e.action === 'grant.revealed');
    expect(revealed?.details['tokenId']).toBe(alice.tokenId);
  });

  // issue 13 (store reads)
  it('last use is written at most once a minute per token, so a steady reader writes nothing per request', async () => {
    const issued = await enrol('alice');
    const lastUsed = async () => (await listTokens(bed.ctx, bed.actors.admin, { user: 'alice' }))[0]?.lastUsedAt;
    const first = bed.clock.now();
    await actorOf(issued.token);
    bed.clock.advance(59_000);
    await actorOf(issued.token);
    expect(await lastUsed()).toStrictEqual(first);
    bed.clock.advance(1_000);
    await actorOf(issued.token);
    expect(await lastUsed()).toStrictEqual(bed.clock.now());
  });
});

// issue 13 (store reads)
describe('token checks on the read path of a SQLite file (its own read-only connection)', () => {
  let dir: string;
  let bed: TestBed;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bg-identity-'));
    bed = await createTestBed({ store: await createSqliteStore(join(dir, 'bg.db')) });
    await bed.apply(bedCatalog);
  });
  afterEach(async () => {
    await bed.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a revoked token, an expired token and a disabled user\'s token are refused at once', async () => {
    const alice = await redeemInvite(bed.ctx, (await inviteUser(bed.ctx, bed.actors.admin, 'alice')).code);
    const actor = await authenticate(bed.ctx, alice.token);
    expect(actor?.name).toBe('alice');
    await revokeToken(bed.ctx, bed.actors.admin, alice.id);
    expect(await authenticate(bed.ctx, alice.token)).toBeUndefined();

    const expiring = await redeemInvite(bed.ctx, (await inviteUser(bed.ctx, bed.actors.admin, 'bob')).code, { ttl: '1h' });
    expect((await authenticate(bed.ctx, expiring.token))?.name).toBe('bob');
    bed.clock.advance(hours(1));
    expect(await authenticate(bed.ctx, expiring.token)).toBeUndefined();

    const carol = await redeemInvite(bed.ctx, (await inviteUser(bed.ctx, bed.actors.admin, 'carol')).code);
    expect((await authenticate(bed.ctx, carol.token))?.name).toBe('carol');
    await bed.store.transaction((tx) => tx.users.setDisabled(bed.actors.carol.id, true));
    expect(await authenticate(bed.ctx, carol.token)).toBeUndefined();
  });
});

// issue 13 (authread)
describe('checked tokens: a token found live is not read again for 1 s, and forgetting is immediate', () => {
  let bed: TestBed;
  let reads: number;
  let ctx: TestBed['ctx'];
  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(bedCatalog);
    reads = 0;
    // The real store, counting the reads made through it.
    ctx = { ...bed.ctx, store: { ...bed.store, read: (work) => (reads++, bed.store.read(work)) } };
  });
  afterEach(async () => {
    await bed.close();
  });
  const enrol = async (user: string, ttl?: string) => redeemInvite(bed.ctx, (await inviteUser(bed.ctx, bed.actors.admin, user)).code, ttl === undefined ? {} : { ttl });

  it('a live token is read once per second at most; a refused one every time', async () => {
    const checked = checkedTokens();
    const alice = await enrol('alice');
    expect((await authenticate(ctx, alice.token, checked))?.name).toBe('alice');
    expect((await authenticate(ctx, alice.token, checked))?.name).toBe('alice');
    expect(reads).toBe(1);
    bed.clock.advance(checkedTokenTtlMs - 1);
    await authenticate(ctx, alice.token, checked);
    expect(reads).toBe(1);
    bed.clock.advance(1);
    await authenticate(ctx, alice.token, checked);
    expect(reads).toBe(2);
    const unknown = `bg_${'x'.repeat(43)}`;
    expect(await authenticate(ctx, unknown, checked)).toBeUndefined();
    expect(await authenticate(ctx, unknown, checked)).toBeUndefined();
    expect(reads).toBe(4);
    // Without the cache (the default), every check reads.
    await authenticate(ctx, alice.token);
    expect(reads).toBe(5);
  });

  it('forget(): a token revoked, a user disabled and a role changed are seen by the very next check', async () => {
    const checked = checkedTokens();
    const alice = await enrol('alice');
    const bob = await enrol('bob');
    expect((await authenticate(ctx, alice.token, checked))?.roles).toStrictEqual(['responder']);
    expect((await authenticate(ctx, bob.token, checked))?.name).toBe('bob');

    await bed.apply(`${bedCatalog}users:\n  - { name: alice, roles: [responder, auditor] }\n`);
    expect((await authenticate(ctx, alice.token, checked))?.roles).toStrictEqual(['responder']);
    checked.forget();
    expect((await authenticate(ctx, alice.token, checked))?.roles).toStrictEqual(['responder', 'auditor']);

    await revokeToken(bed.ctx, bed.actors.admin, alice.id);
    checked.forget();
    expect(await authenticate(ctx, alice.token, checked)).toBeUndefined();

    await bed.apply(`${bedCatalog}users:\n  - { name: bob, roles: [incident-owner], disabled: true }\n`);
    checked.forget();
    expect(await authenticate(ctx, bob.token, checked)).toBeUndefined();
  });

  it('a read that began before forget() is not kept (it may have seen the state before the change)', async () => {
    const checked = checkedTokens();
    const alice = await enrol('alice');
    const pending = authenticate(ctx, alice.token, checked);
    checked.forget();
    expect((await pending)?.name).toBe('alice');
    await authenticate(ctx, alice.token, checked);
    expect(reads).toBe(2);
  });

  it('expiry is judged on every use, also of a token found live a moment ago', async () => {
    const checked = checkedTokens();
    const alice = await enrol('alice', '1h');
    bed.clock.advance(hours(1) - 500);
    expect((await authenticate(ctx, alice.token, checked))?.name).toBe('alice');
    bed.clock.advance(500);
    expect(await authenticate(ctx, alice.token, checked)).toBeUndefined();
    expect(reads).toBe(1);
  });

  it('holds at most `max` tokens, by hash, and a clock that goes back does not stretch the TTL', async () => {
    const checked = checkedTokens({ max: 1 });
    const alice = await enrol('alice');
    const bob = await enrol('bob');
    await authenticate(ctx, alice.token, checked);
    await authenticate(ctx, bob.token, checked);
    await authenticate(ctx, alice.token, checked);
    expect(reads).toBe(3);
    expect(checked.recall(alice.token, bed.clock.now())).toBeUndefined();
    expect(checked.recall(hashToken(alice.token), bed.clock.now())?.user.name).toBe('alice');
    expect(checked.recall(hashToken(alice.token), new Date(bed.clock.now().getTime() - 1))).toBeUndefined();
  });

  it('the use is still written once a minute while the token is served from the cache', async () => {
    const checked = checkedTokens();
    const alice = await enrol('alice');
    const lastUsed = async () => (await listTokens(bed.ctx, bed.actors.admin, { user: 'alice' }))[0]?.lastUsedAt;
    const first = bed.clock.now();
    await authenticate(ctx, alice.token, checked);
    bed.clock.advance(500);
    await authenticate(ctx, alice.token, checked);
    expect(await lastUsed()).toStrictEqual(first);
    for (let i = 0; i < 120; i++) {
      bed.clock.advance(500);
      await authenticate(ctx, alice.token, checked);
    }
    expect(await lastUsed()).toStrictEqual(new Date(first.getTime() + 60_000));
  });
});
