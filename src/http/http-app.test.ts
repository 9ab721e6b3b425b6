/**
 * The HTTP app on the test bed's context, through `app.inject` (no socket): authentication,
 * a whole case over the API, validation errors that name the path, and what a responder may
 * not see. Users enrol as `breakglass user invite` and `breakglass token redeem` do.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../test/support/test-bed.js';
import { inviteUser, redeemInvite } from '../modules/identity/enrolment.js';
import { createToken } from '../modules/identity/identity.js';
import { buildHttpApp, type App } from './http-app.js';

describe('HTTP app on the test bed', () => {
  let bed: TestBed;
  let app: App;
  const tokens: Record<string, string> = {};

  beforeEach(async () => {
    bed = await createTestBed();
    // A second responder, to see what one responder may not see of another's grant.
    await bed.apply(`${bedCatalog}users:\n  - { name: mallory, roles: [responder] }\n  - { name: newbie, roles: [] }\n`);
    for (const user of ['alice', 'bob', 'mallory', 'newbie']) tokens[user] = (await redeemInvite(bed.ctx, (await inviteUser(bed.ctx, bed.actors.admin, user)).code)).token;
    tokens['admin'] = (await createToken(bed.ctx, bed.actors.admin, 'admin')).token;
    app = await buildHttpApp({ ctx: bed.ctx, ready: () => Promise.resolve(true), logger: false, version: 'test' });
  });
  afterEach(async () => {
    await app.close();
    await bed.close();
  });

  const call = async (user: string | undefined, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) => {
    const response = await app.inject({
      method,
      url,
      headers: user === undefined ? {} : { authorization: `Bearer ${tokens[user] ?? user}` },
      ...(payload === undefined ? {} : { payload }),
    });
    return { status: response.statusCode, body: response.json<any>(), headers: response.headers };
  };
  const invokeBody = { account: 'db-breakglass', condition: 'outage', reason: 'primary down', incident: 'INC-7', ttl: '10m' };

  it('401 without a token, with a malformed one and with an unknown one', async () => {
    for (const user of [undefined, 'not-a-token', `bg_${'x'.repeat(40)}`]) {
      const response = await call(user, 'GET', '/v1/grants');
      expect(response.status, String(user)).toBe(401);
      expect(response.body.error.code).toBe('unauthenticated');
    }
  });

  it('invoke → reveal once → end → revoked and rotated, all over HTTP', async () => {
    const invoked = await call('alice', 'POST', '/v1/grants', invokeBody);
    expect(invoked.status, JSON.stringify(invoked.body)).toBe(201);
    expect(invoked.body).toMatchObject({ state: 'active', account: 'db-breakglass', requester: 'alice', expiresAt: '2030-01-01T00:10:00.000Z' });
    const id: string = invoked.body.id;

    const revealed = await call('alice', 'POST', `/v1/grants/${id}/reveal`);
    expect(revealed.status).toBe(200);
    expect(revealed.headers['cache-control']).toBe('no-store');
    expect(revealed.body).toEqual({ username: 'bg_admin', password: bed.target.account('bg_admin')!.secret });
    const again = await call('alice', 'POST', `/v1/grants/${id}/reveal`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('already_revealed');
    expect(JSON.stringify(again.body)).not.toContain(revealed.body.password);

    const ended = await call('alice', 'POST', `/v1/grants/${id}/end`);
    expect(ended.status).toBe(200);
    expect(ended.body).toMatchObject({ state: 'revoking', endReason: 'ended' });
    await bed.runDue();
    expect(bed.target.account('bg_admin')?.canLogin).toBe(false);

    const shown = await call('alice', 'GET', `/v1/grants/${id}`);
    expect(shown.body.state).toBe('awaiting-certification');
    const certified = await call('bob', 'POST', `/v1/grants/${id}/certify`, { necessary: true, scoped: true, removed: true });
    expect(certified.status).toBe(200);
    expect(certified.body).toMatchObject({ state: 'closed', certification: { by: 'bob', necessary: true } });
    expect(await bed.verify()).toMatchObject({ ok: true });
  });

  it('validation errors name the path of the first problem', async () => {
    const withoutReason = Object.fromEntries(Object.entries(invokeBody).filter(([key]) => key !== 'reason'));
    const missing = await call('alice', 'POST', '/v1/grants', withoutReason);
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ code: 'validation', path: 'reason' });
    expect(missing.body.error.message).toContain('reason');

    const badId = await call('alice', 'GET', '/v1/grants/not-a-grant');
    expect(badId.status).toBe(400);
    expect(badId.body.error).toMatchObject({ code: 'validation', path: 'params.id' });

    const badTtl = await call('alice', 'POST', '/v1/grants', { ...invokeBody, ttl: 'soon' });
    expect(badTtl.status).toBe(400);
    expect(badTtl.body.error).toMatchObject({ code: 'validation', path: 'ttl' });
  });

  it("a responder gets 404 for someone else's grant, the same as for one that does not exist", async () => {
    const id: string = (await call('alice', 'POST', '/v1/grants', invokeBody)).body.id;
    const foreign = await call('mallory', 'GET', `/v1/grants/${id}`);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('not_found');
    const absent = await call('mallory', 'GET', '/v1/grants/gr_doesnotexist00');
    expect(absent.status).toBe(404);
    expect(foreign.body.error.message.replace(id, 'ID')).toBe(absent.body.error.message.replace('gr_doesnotexist00', 'ID'));
    expect((await call('mallory', 'GET', '/v1/grants')).body.grants).toEqual([]);
    // Refused and audited, with the same 404 as for no grant at all: a 403 would tell that it exists.
    const stolen = await call('mallory', 'POST', `/v1/grants/${id}/reveal`);
    expect(stolen.status).toBe(404);
    expect((await call('mallory', 'POST', `/v1/grants/${id}/end`)).status).toBe(404);
    expect(stolen.body.password).toBeUndefined();
    const refusals = (await bed.auditEvents()).filter((e) => e.subject === id && e.actor === 'mallory');
    // Every try is on the record, though mallory was told "not found" each time.
    expect(refusals.map((e) => e.action)).toEqual(['request.refused', 'grant.reveal-refused', 'request.refused']);
    // The incident owner oversees every case.
    expect((await call('bob', 'GET', `/v1/grants/${id}`)).status).toBe(200);
  });

  it('a case stuck on its target says why in grant show: the step, the attempts and the last error', async () => {
    const id: string = (await call('alice', 'POST', '/v1/grants', invokeBody)).body.id;
    bed.target.setDown(true);
    expect((await call('alice', 'POST', `/v1/grants/${id}/end`)).status).toBe(200);
    await bed.runDue();
    const shown = await call('bob', 'GET', `/v1/grants/${id}`);
    expect(shown.body).toMatchObject({ state: 'revoking', stuck: { step: 'revoke', attempts: 1, lastError: expect.stringContaining('unreachable') } });
    bed.target.setDown(false);
    bed.clock.advance(60_000);
    await bed.runDue();
    const done = await call('bob', 'GET', `/v1/grants/${id}`);
    expect(done.body.state).toBe('awaiting-certification');
    expect(done.body.stuck).toBeUndefined();
  });

  it('tokens over HTTP: invite, redeem with no bearer token, list (never the token), revoke; a revoked token gets 401 at once', async () => {
    const invite = await call('admin', 'POST', '/v1/users/mallory/invite', {});
    expect(invite.status).toBe(201);
    expect(invite.headers['cache-control']).toBe('no-store');
    expect(Object.keys(invite.body).sort()).toStrictEqual(['code', 'expiresAt']);
    expect(invite.body.expiresAt).toBe('2030-01-02T00:00:00.000Z');
    const redeemed = await call(undefined, 'POST', '/v1/tokens/redeem', { code: invite.body.code, ttl: '30d' });
    expect(redeemed.status, JSON.stringify(redeemed.body)).toBe(201);
    expect(redeemed.headers['cache-control']).toBe('no-store');
    expect(redeemed.body).toStrictEqual({ id: expect.stringMatching(/^tok_/), token: expect.stringMatching(/^bg_/), expiresAt: '2030-01-31T00:00:00.000Z' });
    expect((await call(undefined, 'POST', '/v1/tokens/redeem', { code: invite.body.code })).status).toBe(401);
    tokens['mallory2'] = redeemed.body.token;
    expect((await call('mallory2', 'GET', '/v1/whoami')).body).toStrictEqual({ user: 'mallory', roles: ['responder'], tokenId: redeemed.body.id });

    const listed = await call('admin', 'GET', '/v1/tokens?user=mallory');
    expect(listed.status).toBe(200);
    const mine = listed.body.tokens.find((t: { id: string }) => t.id === redeemed.body.id);
    expect(Object.keys(mine).sort()).toEqual(expect.arrayContaining(['id', 'user', 'label', 'createdAt', 'expiresAt', 'lastUsedAt']));
    expect(mine).toMatchObject({ user: 'mallory', createdBy: 'mallory', lastUsedAt: '2030-01-01T00:00:00.000Z' });
    expect(JSON.stringify(listed.body)).not.toContain(redeemed.body.token);

    const revoked = await call('admin', 'DELETE', `/v1/tokens/${redeemed.body.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toBe('2030-01-01T00:00:00.000Z');
    expect((await call('mallory2', 'GET', '/v1/whoami')).status).toBe(401);
    expect((await call('mallory', 'GET', '/v1/whoami')).status).toBe(200);
  });

  it('no impersonation over HTTP: an admin cannot create a token for another person (403, pointing to user invite)', async () => {
    const refused = await call('admin', 'POST', '/v1/tokens', { user: 'alice' });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain('user invite');
    const own = await call('alice', 'POST', '/v1/tokens', { user: 'alice', ttl: '1h', label: 'laptop' });
    expect(own.status).toBe(201);
    expect(own.body.expiresAt).toBe('2030-01-01T01:00:00.000Z');
    expect((await call('alice', 'POST', '/v1/tokens', { user: 'alice', ttl: 'forever' })).body.error).toMatchObject({ code: 'validation', path: 'ttl' });
  });

  it('a user with no role gets whoami and nothing else', async () => {
    expect((await call('newbie', 'GET', '/v1/whoami')).body).toMatchObject({ user: 'newbie', roles: [] });
    for (const url of ['/v1/accounts', '/v1/tokens', '/v1/ssh/ca']) expect((await call('newbie', 'GET', url)).status, url).toBe(403);
    expect((await call('newbie', 'POST', '/v1/tokens', { user: 'newbie' })).status).toBe(403);
    // An account is not even there for someone with no role (nothing of the catalog is told).
    expect((await call('newbie', 'POST', '/v1/grants', invokeBody)).status).toBe(404);
  });

  it('refusals are on the record: who, what, why, aggregated per actor and reason per minute', async () => {
    const refusedOf = async () => (await bed.auditEvents()).filter((e) => e.action === 'request.refused');
    // A policy violation, three times in one minute: one event.
    for (let i = 0; i < 3; i++) expect((await call('alice', 'POST', '/v1/grants', { ...invokeBody, condition: 'boredom' })).status).toBe(422);
    let refused = await refusedOf();
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ actor: 'alice', subject: 'POST /v1/grants', details: { what: 'POST /v1/grants', code: 'policy_violation', reason: expect.stringContaining('boredom') } });
    // A wrong role is a different reason: its own event.
    expect((await call('alice', 'GET', '/v1/audit/verify')).status).toBe(403);
    refused = await refusedOf();
    expect(refused.map((e) => e.details['code'])).toEqual(['policy_violation', 'forbidden']);
    // A minute later, the next one carries the count of those folded in.
    bed.clock.advance(60_000);
    await call('alice', 'POST', '/v1/grants', { ...invokeBody, condition: 'boredom' });
    refused = await refusedOf();
    expect(refused[2]?.details).toMatchObject({ code: 'policy_violation', earlierRefusals: 2 });
  });
});
