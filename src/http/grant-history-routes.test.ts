/**
 * Issue 11 (H3) over HTTP on the test bed: the history query (filters, validation naming the
 * parameter, pages with a cursor, own-or-role visibility), a case's timeline, the certification
 * deadline as seen in `grants`, and the misuse review resolved by an admin.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../test/support/test-bed.js';
import { inviteUser, redeemInvite } from '../modules/identity/enrolment.js';
import { createToken } from '../modules/identity/identity.js';
import { buildHttpApp, type App } from './http-app.js';

const catalog = `${bedCatalog.replace('    maxTtl: 1h\n', '    maxTtl: 1h\n    certifyWithin: 72h\n')}users:\n  - { name: mallory, roles: [responder] }\n`;

describe('grant history, timeline and review over HTTP', () => {
  let bed: TestBed;
  let app: App;
  const tokens: Record<string, string> = {};

  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(catalog);
    for (const user of ['alice', 'bob', 'mallory']) tokens[user] = (await redeemInvite(bed.ctx, (await inviteUser(bed.ctx, bed.actors.admin, user)).code)).token;
    tokens['admin'] = (await createToken(bed.ctx, bed.actors.admin, 'admin')).token;
    app = await buildHttpApp({ ctx: bed.ctx, ready: () => Promise.resolve(true), logger: false, version: 'test' });
  });
  afterEach(async () => {
    await app.close();
    await bed.close();
  });

  const call = async (user: string, method: 'GET' | 'POST', url: string, payload?: object) => {
    const response = await app.inject({ method, url, headers: { authorization: `Bearer ${tokens[user]}` }, ...(payload === undefined ? {} : { payload }) });
    return { status: response.statusCode, body: response.json<any>() };
  };
  /** An ephemeral case, ended and revoked: awaiting certification. */
  const finishedCase = async (user: string, incident: string) => {
    const invoked = await call(user, 'POST', '/v1/grants', { account: 'db-ephemeral', condition: 'outage', reason: 'primary down', incident, ttl: '10m' });
    expect(invoked.status, JSON.stringify(invoked.body)).toBe(201);
    await call(user, 'POST', `/v1/grants/${invoked.body.id}/end`);
    await bed.runDue();
    bed.clock.advance(1_000);
    return invoked.body.id as string;
  };

  it('filters in SQL, pages with an opaque cursor stable under inserts, and keeps a responder to their own cases', async () => {
    const a1 = await finishedCase('alice', 'INC-1');
    const m1 = await finishedCase('mallory', 'INC-2');
    const a2 = await finishedCase('alice', 'INC-2');
    const a3 = await finishedCase('alice', 'INC-3');

    const all = await call('bob', 'GET', '/v1/grants');
    expect(all.status).toBe(200);
    expect(all.body.grants.map((g: any) => g.id)).toEqual([a3, a2, m1, a1]);
    expect(all.body.nextCursor).toBeUndefined();
    expect((await call('bob', 'GET', '/v1/grants?incident=INC-2')).body.grants.map((g: any) => g.id)).toEqual([a2, m1]);
    expect((await call('bob', 'GET', '/v1/grants?requester=mallory&account=db-ephemeral')).body.grants.map((g: any) => g.id)).toEqual([m1]);
    expect((await call('bob', 'GET', '/v1/grants?account=db-breakglass')).body.grants).toEqual([]);
    const since = encodeURIComponent('2030-01-01T00:00:01Z');
    expect((await call('bob', 'GET', `/v1/grants?since=${since}&until=2030-01-01T00:00:03Z`)).body.grants.map((g: any) => g.id)).toEqual([a2, m1]);

    // A duration means that long before now, on the server's clock (now is 00:00:04).
    expect((await call('bob', 'GET', '/v1/grants?since=2s')).body.grants.map((g: any) => g.id)).toEqual([a3, a2]);
    // own-or-role: a responder sees only their own, whatever the filter asks.
    expect((await call('mallory', 'GET', '/v1/grants')).body.grants.map((g: any) => g.id)).toEqual([m1]);
    expect((await call('mallory', 'GET', '/v1/grants?requester=alice')).body.grants).toEqual([]);

    const first = await call('bob', 'GET', '/v1/grants?limit=2');
    expect(first.body.grants.map((g: any) => g.id)).toEqual([a3, a2]);
    expect(first.body.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
    await finishedCase('alice', 'INC-4'); // a new case between pages shifts nothing
    const second = await call('bob', 'GET', `/v1/grants?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.grants.map((g: any) => g.id)).toEqual([m1, a1]);
    expect(second.body.nextCursor).toBeUndefined();
  });

  it('a bad since, state, limit or cursor is a 400 naming the parameter', async () => {
    const refused = async (query: string) => (await call('bob', 'GET', `/v1/grants?${query}`)).body.error;
    expect(await refused('since=yesterday')).toMatchObject({ code: 'validation', path: 'querystring.since' });
    expect(await refused('since=7w')).toMatchObject({ code: 'validation', path: 'querystring.since' });
    expect(await refused('until=2030-13-01')).toMatchObject({ code: 'validation', path: 'querystring.until' });
    expect(await refused('state=done')).toMatchObject({ code: 'validation', path: 'querystring.state' });
    expect(await refused('limit=0')).toMatchObject({ code: 'validation', path: 'querystring.limit' });
    expect(await refused('limit=501')).toMatchObject({ code: 'validation', path: 'querystring.limit' });
    expect(await refused('cursor=bm90LWEtY3Vyc29y')).toMatchObject({ code: 'validation', path: 'cursor' });
  });

  it('certification-overdue is visible in grants and filterable', async () => {
    const late = await finishedCase('alice', 'INC-1');
    bed.clock.advance(72 * 3_600_000);
    await bed.runDue();
    const onTime = await finishedCase('alice', 'INC-2');
    const overdue = await call('bob', 'GET', '/v1/grants?state=certification-overdue');
    expect(overdue.body.grants.map((g: any) => [g.id, g.state, g.certificationOverdue])).toEqual([[late, 'awaiting-certification', true]]);
    expect((await call('bob', 'GET', `/v1/grants/${onTime}`)).body.certificationOverdue).toBeUndefined();
    expect((await call('bob', 'GET', '/v1/grants?state=awaiting-certification')).body.grants).toHaveLength(2);
  });

  it('the timeline lists the case\'s audit events in order, for whoever may read the case only', async () => {
    const id = await finishedCase('alice', 'INC-1');
    const timeline = await call('alice', 'GET', `/v1/grants/${id}/timeline`);
    expect(timeline.status).toBe(200);
    expect(timeline.body.grant).toBe(id);
    expect(timeline.body.events.map((e: any) => e.action)).toEqual(['grant.requested', 'grant.activated', 'grant.ended', 'grant.revocation-verified', 'grant.certification-requested']);
    expect(timeline.body.events[2]).toMatchObject({ actor: 'alice', details: { from: 'active', to: 'revoking' } });
    const seqs = timeline.body.events.map((e: any) => e.seq);
    expect([...seqs].sort((x: number, y: number) => x - y)).toEqual(seqs);
    expect((await call('mallory', 'GET', `/v1/grants/${id}/timeline`)).status).toBe(404);
    expect((await call('bob', 'GET', `/v1/grants/${id}/timeline`)).status).toBe(200);
  });

  it('misuse suspected → under-review; the requester-admin cannot resolve (403), another admin can, with a note', async () => {
    const own = await finishedCase('admin', 'INC-9');
    const certified = await call('bob', 'POST', `/v1/grants/${own}/certify`, { necessary: true, scoped: false, removed: true, note: 'odd queries', misuseSuspected: true });
    expect(certified.body).toMatchObject({ state: 'under-review', certification: { by: 'bob', misuseSuspected: true } });
    expect(certified.body.closedAt).toBeUndefined();
    const self = await call('admin', 'POST', `/v1/grants/${own}/resolve`, { note: 'fine' });
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe('separation_of_duties');
    expect((await call('bob', 'POST', `/v1/grants/${own}/resolve`, { note: 'fine' })).status).toBe(403);
    expect((await call('bob', 'POST', `/v1/grants/${own}/resolve`, {})).body.error).toMatchObject({ code: 'validation', path: 'note' });

    const other = await finishedCase('alice', 'INC-10');
    await call('bob', 'POST', `/v1/grants/${other}/certify`, { necessary: true, scoped: true, removed: true, misuseSuspected: true });
    const resolved = await call('admin', 'POST', `/v1/grants/${other}/resolve`, { note: 'reviewed with alice' });
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({ state: 'closed', resolution: { by: 'admin', note: 'reviewed with alice' } });
  });
});
