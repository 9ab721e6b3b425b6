/** `GET /v1/reports/governance` on the test bed (`app.inject`): formats, content types, the guard, the query. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../test/support/test-bed.js';
import { invoke } from '../modules/grants/invoke.js';
import { inviteUser, redeemInvite } from '../modules/identity/enrolment.js';
import { createToken } from '../modules/identity/identity.js';
import { buildHttpApp, type App } from './http-app.js';

describe('report routes', () => {
  let bed: TestBed;
  let app: App;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    bed = await createTestBed();
    await bed.apply(`${bedCatalog}users:\n  - { name: audrey, roles: [auditor] }\n`);
    for (const user of ['alice', 'audrey']) tokens[user] = (await redeemInvite(bed.ctx, (await inviteUser(bed.ctx, bed.actors.admin, user)).code)).token;
    tokens['admin'] = (await createToken(bed.ctx, bed.actors.admin, 'admin')).token;
    await invoke(bed.ctx, bed.actors.alice, { account: 'db-ephemeral', condition: 'outage', reason: '<img src=x onerror=alert(1)>', incident: 'INC-9', ttl: '15m' });
    app = await buildHttpApp({ ctx: bed.ctx, ready: () => Promise.resolve({ ready: true }), logger: false, version: 'test' });
  });
  afterAll(async () => {
    await app.close();
    await bed.close();
  });

  const get = (user: string, url: string) => app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${tokens[user]}` } });

  it('JSON by default: the figures for the last 90 days, with the audit head', async () => {
    const response = await get('audrey', '/v1/reports/governance');
    expect(response.statusCode).toBe(200);
    const body = response.json<{ figures: { cases: number }; auditHead: { seq: number }; since: string }>();
    expect(body.figures.cases).toBe(1);
    expect(body.auditHead.seq).toBeGreaterThan(0);
    expect(new Date(body.since).getTime()).toBe(bed.clock.now().getTime() - 90 * 86_400_000);
  });

  it('format=html is one text/html document with inline SVG, the stored reason escaped; format=csv is text/csv', async () => {
    const html = await get('admin', '/v1/reports/governance?since=30d&format=html');
    expect(html.statusCode).toBe(200);
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(html.body).toContain('<svg');
    expect(html.body).not.toContain('<img src=x');
    const csv = await get('admin', '/v1/reports/governance?since=30d&format=csv');
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.body.split('\r\n')[1]).toMatch(/^db-ephemeral,ephemeral,1,alice:1,outage:1,/);
  });

  it('a responder is refused (report.read), and a bad duration or format is a 400', async () => {
    expect((await get('alice', '/v1/reports/governance')).statusCode).toBe(403);
    expect((await get('admin', '/v1/reports/governance?since=1y')).statusCode).toBe(400);
    expect((await get('admin', '/v1/reports/governance?format=pdf')).statusCode).toBe(400);
  });
});
