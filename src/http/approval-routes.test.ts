/**
 * Issue 11 (H1): approve, deny and escalate over HTTP on the test bed (`app.inject`, memory
 * target, fake clock), with the contract's policy: the requester approving their own grant is 403.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestBed, type TestBed } from '../../test/support/test-bed.js';
import { grantsResponseSchema, grantViewSchema } from '../api/index.js';
import { inviteUser, redeemInvite } from '../modules/identity/enrolment.js';
import { buildHttpApp, type App } from './http-app.js';

const catalog = `
targets:
  - { name: db, type: exec, command: /dev/null/memory-target }
policies:
  - name: p1
    conditions: [outage, security-incident]
    incidentPattern: "^INC-[0-9]+$"
    approval: { mode: approvers, threshold: 1, approvers: [carol], timeout: 30m }
    escalate: { after: 1m }
    defaultTtl: 15m
    maxTtl: 1h
accounts:
  - { name: db-approve, target: db, mode: prestaged, user: bg_admin, policy: p1 }
  - { name: db-approve-eph, target: db, mode: ephemeral, policy: p1 }
users:
  - { name: carol, roles: [approver] }
`;

describe('POST /v1/grants/{id}/approve, /deny, /escalate', () => {
  let bed: TestBed;
  let app: App;
  const tokens: Record<string, string> = {};

  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(catalog);
    bed.clock.advance(2_000);
    await bed.runDue();
    for (const name of ['alice', 'carol', 'bob']) tokens[name] = (await redeemInvite(bed.ctx, (await inviteUser(bed.ctx, bed.actors.admin, name)).code)).token;
    app = await buildHttpApp({ ctx: bed.ctx, ready: () => Promise.resolve(true), logger: false, version: 'test' });
  });
  afterEach(async () => {
    await app.close();
    await bed.close();
  });

  const post = (user: string, url: string, payload: object) => app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${tokens[user]}` }, payload });
  const get = (user: string, url: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${tokens[user]}` } });
  const invoke = async (account: string) => {
    const response = await post('alice', '/v1/grants', { account, condition: 'outage', reason: 'primary down', incident: 'INC-7' });
    expect(response.statusCode).toBe(201);
    return grantViewSchema.parse(response.json());
  };

  it('invoke answers awaiting-approval; the requester approving is 403 separation_of_duties; carol approving makes it active', async () => {
    const grant = await invoke('db-approve');
    expect(grant.state).toBe('awaiting-approval');
    const own = await post('alice', `/v1/grants/${grant.id}/approve`, { note: 'me' });
    expect(own.statusCode).toBe(403);
    expect(own.json()).toMatchObject({ error: { code: 'separation_of_duties' } });
    const approved = await post('carol', `/v1/grants/${grant.id}/approve`, { note: 'checked' });
    expect(approved.statusCode).toBe(200);
    expect(grantViewSchema.parse(approved.json())).toMatchObject({ state: 'active', approvals: [{ by: 'carol', decision: 'approved', note: 'checked' }] });
    const shown = grantViewSchema.parse((await get('alice', `/v1/grants/${grant.id}`)).json());
    expect(shown.approvals).toHaveLength(1);
  });

  it('GET /v1/approvals: carol sees the request waiting for her (with its account); the requester sees none', async () => {
    const grant = await invoke('db-approve');
    const mine = await get('carol', '/v1/approvals');
    expect(mine.statusCode).toBe(200);
    expect(mine.json()).toMatchObject({ grants: [{ id: grant.id, account: 'db-approve', state: 'awaiting-approval', requester: 'alice' }] });
    expect((await get('alice', '/v1/approvals')).json()).toEqual({ grants: [] });
  });

  it('deny makes it denied; a note is required', async () => {
    const grant = await invoke('db-approve-eph');
    expect((await post('carol', `/v1/grants/${grant.id}/deny`, {})).statusCode).toBe(400);
    const denied = await post('carol', `/v1/grants/${grant.id}/deny`, { note: 'not an outage' });
    expect(denied.statusCode).toBe(200);
    expect(grantViewSchema.parse(denied.json()).state).toBe('denied');
  });

  it('escalate: refused before escalate.after (422, naming it); afterwards active and escalated, visible in the grant and the list', async () => {
    const grant = await invoke('db-approve');
    const early = await post('alice', `/v1/grants/${grant.id}/escalate`, { reason2: 'nobody answers' });
    expect(early.statusCode).toBe(422);
    expect(JSON.stringify(early.json())).toContain('escalate.after');
    bed.clock.advance(60_000);
    const escalated = await post('alice', `/v1/grants/${grant.id}/escalate`, { reason2: 'nobody answers' });
    expect(escalated.statusCode).toBe(200);
    expect(grantViewSchema.parse(escalated.json())).toMatchObject({ state: 'active', escalated: true, escalationReason: 'nobody answers' });
    expect(grantViewSchema.parse((await get('alice', `/v1/grants/${grant.id}`)).json()).escalated).toBe(true);
    const list = grantsResponseSchema.parse((await get('alice', '/v1/grants')).json());
    expect(list.grants.find((g) => g.id === grant.id)?.escalated).toBe(true);
  });
});
