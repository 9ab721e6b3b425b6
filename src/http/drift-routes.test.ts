/**
 * The drift routes over HTTP on the test bed (`app.inject`, the memory target): scan, list,
 * acknowledge, who may, and the JSON shapes the CLI reads.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../test/support/test-bed.js';
import { inviteUser, redeemInvite } from '../modules/identity/enrolment.js';
import { createToken } from '../modules/identity/identity.js';
import { buildHttpApp, type App } from './http-app.js';

describe('drift routes', () => {
  let bed: TestBed;
  let app: App;
  const tokens: Record<string, string> = {};

  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(`${bedCatalog}users:\n  - { name: audrey, roles: [auditor] }\n`);
    for (const user of ['alice', 'audrey']) tokens[user] = (await redeemInvite(bed.ctx, (await inviteUser(bed.ctx, bed.actors.admin, user)).code)).token;
    tokens['admin'] = (await createToken(bed.ctx, bed.actors.admin, 'admin')).token;
    app = await buildHttpApp({ ctx: bed.ctx, ready: () => Promise.resolve(true), logger: false, version: 'test' });
  });
  afterEach(async () => {
    await app.close();
    await bed.close();
  });

  const call = async (user: string, method: 'GET' | 'POST', url: string, body?: unknown) => {
    const response = await app.inject({ method, url, headers: { authorization: `Bearer ${tokens[user] ?? user}` }, ...(body === undefined ? {} : { payload: body as object }) });
    return { status: response.statusCode, body: response.json<any>() };
  };

  it('POST /v1/drift/scan (admin) → {findings: [{id, account, kind, subject, detail, firstSeen, lastSeen}], errors}; GET lists for auditors; ack with a reason', async () => {
    bed.target.plant('bg_admin', bed.target.account('bg_admin')!.secret, { canLogin: true });
    expect((await call('alice', 'POST', '/v1/drift/scan')).status).toBe(403);
    expect((await call('audrey', 'POST', '/v1/drift/scan')).status).toBe(403);

    const scanned = await call('admin', 'POST', '/v1/drift/scan');
    expect(scanned.status).toBe(200);
    const at = bed.clock.now().toISOString();
    expect(scanned.body).toEqual({
      findings: [{ id: expect.stringMatching(/^drf_/), account: 'db-breakglass', kind: 'enabled-outside-case', subject: 'bg_admin', detail: expect.stringContaining('bg_admin'), firstSeen: at, lastSeen: at }],
      errors: [],
    });
    const id = scanned.body.findings[0].id as string;

    const listed = await call('audrey', 'GET', '/v1/drift/findings?limit=5');
    expect(listed.status).toBe(200);
    expect(listed.body.findings.map((f: { id: string }) => f.id)).toEqual([id]);
    expect((await call('alice', 'GET', '/v1/drift/findings')).status).toBe(403);
    expect((await call('admin', 'GET', '/v1/drift/findings?limit=0')).status).toBe(400);

    expect((await call('audrey', 'POST', `/v1/drift/findings/${id}/ack`, { reason: 'known' })).status).toBe(403);
    expect((await call('admin', 'POST', '/v1/drift/findings/not-an-id/ack', { reason: 'known' })).status).toBe(400);
    expect((await call('admin', 'POST', '/v1/drift/findings/drf_00000000-0000-0000-0000-000000000000/ack', { reason: 'known' })).status).toBe(404);
    expect((await call('admin', 'POST', `/v1/drift/findings/${id}/ack`, {})).status).toBe(400);
    const acked = await call('admin', 'POST', `/v1/drift/findings/${id}/ack`, { reason: 'DBA test window, CHG-12' });
    expect(acked.status).toBe(200);
    expect(acked.body).toMatchObject({ id, ackedBy: 'admin', ackedReason: 'DBA test window, CHG-12' });
  });
});
