/**
 * Issue 11 (H2) over HTTP on the test bed (`app.inject`, the memory target): extend, join,
 * incident close (the incident-system token and nothing else), the override reason on invoke.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestBed, type TestBed } from '../../test/support/test-bed.js';
import { grantViewSchema, incidentCloseResponseSchema, joinResponseSchema } from '../api/index.js';
import { inviteUser, redeemInvite } from '../modules/identity/enrolment.js';
import { createToken } from '../modules/identity/identity.js';
import { buildHttpApp, type App } from './http-app.js';

const catalog = `
targets:
  - { name: db, type: exec, command: /dev/null/memory-target }
policies:
  - name: p1
    conditions: [outage]
    incidentPattern: '^INC-[0-9]+$'
    approval: { mode: post-hoc }
    defaultTtl: 15m
    maxTtl: 1h
    maxExtensions: 1
    maxTotal: 2h
    requireCertifiedPrevious: true
accounts:
  - { name: db-breakglass, target: db, mode: prestaged, user: bg_admin, policy: p1 }
users:
  - { name: frank, roles: [responder] }
  - { name: pager, roles: [incident-system] }
`;

describe('bounds over HTTP (issue 11)', () => {
  let bed: TestBed;
  let app: App;
  const tokens: Record<string, string> = {};

  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(catalog);
    bed.clock.advance(2_000);
    await bed.runDue();
    for (const name of ['alice', 'frank', 'pager', 'bob']) tokens[name] = (await redeemInvite(bed.ctx, (await inviteUser(bed.ctx, bed.actors.admin, name)).code)).token;
    tokens['admin'] = (await createToken(bed.ctx, bed.actors.admin, 'admin')).token;
    app = await buildHttpApp({ ctx: bed.ctx, ready: () => Promise.resolve(true), logger: false, version: 'test' });
  });
  afterEach(async () => {
    await app.close();
    await bed.close();
  });

  const call = (user: string, method: 'GET' | 'POST', url: string, payload?: object) =>
    app.inject({ method, url, headers: { authorization: `Bearer ${tokens[user] ?? user}` }, ...(payload === undefined ? {} : { payload }) });
  const invoke = (user: string, extra: object = {}) =>
    call(user, 'POST', '/v1/grants', { account: 'db-breakglass', condition: 'outage', reason: 'primary down', incident: 'INC-7', ...extra });

  it('extend answers the grant with its new expiresAt; beyond maxExtensions 422 naming the limit', async () => {
    const grant = grantViewSchema.parse((await invoke('alice')).json());
    const extended = await call('alice', 'POST', `/v1/grants/${grant.id}/extend`, { by: '10m', reason: 'still restoring' });
    expect(extended.statusCode).toBe(200);
    const view = grantViewSchema.parse(extended.json());
    expect(new Date(view.expiresAt).getTime() - new Date(grant.expiresAt).getTime()).toBe(600_000);
    expect(view.extensions).toBe(1);
    const again = await call('alice', 'POST', `/v1/grants/${grant.id}/extend`, { by: '10m', reason: 'more' });
    expect(again.statusCode).toBe(422);
    expect(again.json()).toMatchObject({ error: { code: 'policy_violation', message: expect.stringMatching(/^maxExtensions: /) as string } });
  });

  it('POST /v1/incidents/INC-7/close with the incident-system token ends the live grants of INC-7; that token can call nothing else', async () => {
    const grant = grantViewSchema.parse((await invoke('alice')).json());
    expect((await call('pager', 'GET', '/v1/grants')).statusCode).toBe(403);
    expect((await call('pager', 'GET', `/v1/grants/${grant.id}`)).statusCode).toBe(403);
    expect((await call('pager', 'GET', '/v1/accounts')).statusCode).toBe(403);
    expect((await call('frank', 'POST', '/v1/incidents/INC-7/close')).statusCode).toBe(403);
    const closed = await call('pager', 'POST', '/v1/incidents/INC-7/close');
    expect(closed.statusCode).toBe(200);
    expect(incidentCloseResponseSchema.parse(closed.json())).toEqual({ incident: 'INC-7', ended: [grant.id], cancelled: [] });
    const after = grantViewSchema.parse((await call('admin', 'GET', `/v1/grants/${grant.id}`)).json());
    expect(after).toMatchObject({ state: 'revoking', endReason: 'incident-closed' });
  });

  it('a second responder joins; a second invoke while the last case is uncertified names requireCertifiedPrevious; only an admin overrides (403 otherwise)', async () => {
    const grant = grantViewSchema.parse((await invoke('alice')).json());
    const joined = await call('frank', 'POST', `/v1/grants/${grant.id}/join`, { reason: 'helping' });
    expect(joined.statusCode).toBe(200);
    expect(joinResponseSchema.parse(joined.json()).coResponders.map((c) => c.name)).toEqual(['frank']);
    expect((await call('frank', 'POST', `/v1/grants/${grant.id}/reveal`)).statusCode).toBe(200);
    await call('alice', 'POST', `/v1/grants/${grant.id}/end`);
    await bed.runDue();
    const refused = await invoke('alice');
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({ error: { message: expect.stringMatching(/^requireCertifiedPrevious: /) as string } });
    expect((await invoke('alice', { overrideReason: 'second outage' })).statusCode).toBe(403);
    const overridden = await invoke('admin', { overrideReason: 'second outage' });
    expect(overridden.statusCode).toBe(201);
    expect(grantViewSchema.parse(overridden.json())).toMatchObject({ override: true, overrideReason: 'second outage' });
  });
});
