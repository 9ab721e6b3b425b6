/**
 * Acknowledging alerts over HTTP on the test bed (`app.inject`): `POST /v1/alerts/{id}/ack`
 * with a token, and the signed link of a message (`/v1/alerts/ack?e&c&x&s`) without one —
 * valid, tampered, expired, malformed — the GET only showing it, the POST acknowledging.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../test/support/test-bed.js';
import { invoke } from '../modules/grants/invoke.js';
import { inviteUser, redeemInvite } from '../modules/identity/enrolment.js';
import { createToken } from '../modules/identity/identity.js';
import type { OutboxMessage } from '../ports/index.js';
import { buildHttpApp, type App } from './http-app.js';

const catalog = `${bedCatalog}
channels:
  - { name: secops-hook, type: webhook, url: "http://127.0.0.1:9/hook", secret: hook-secret-value }
  - { name: oncall, type: webhook, url: "http://127.0.0.1:9/oncall", secret: oncall-secret-value }
routes:
  - { events: ["grant.activated"], channels: [secops-hook], ackWithin: 10m, escalateTo: [oncall] }
users:
  - { name: audrey, roles: [auditor] }
`;
const invalidLink = 'this acknowledgement link is not valid or has expired; acknowledge with `breakglass ack ALERT_ID`';

describe('alert acknowledgement routes', () => {
  let bed: TestBed;
  let app: App;
  let message: OutboxMessage;
  const tokens: Record<string, string> = {};

  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(catalog);
    for (const user of ['alice', 'bob', 'audrey']) tokens[user] = (await redeemInvite(bed.ctx, (await inviteUser(bed.ctx, bed.actors.admin, user)).code)).token;
    tokens['admin'] = (await createToken(bed.ctx, bed.actors.admin, 'admin')).token;
    app = await buildHttpApp({ ctx: bed.ctx, ready: () => Promise.resolve(true), logger: false, version: 'test' });
    await invoke(bed.ctx, bed.actors.alice, { account: 'db-ephemeral', condition: 'outage', reason: 'primary down', incident: 'INC-1', ttl: '15m' });
    message = (await bed.store.transaction((tx) => tx.outbox.list({})))[0]!;
  });
  afterEach(async () => {
    await app.close();
    await bed.close();
  });

  const call = async (user: string, method: 'GET' | 'POST', url: string, payload?: object) => {
    const response = await app.inject({ method, url, headers: { authorization: `Bearer ${tokens[user] ?? user}` }, ...(payload === undefined ? {} : { payload }) });
    return { status: response.statusCode, body: response.json<any>() };
  };
  /** The message's link as a path, optionally with parameters changed. */
  const linkPath = (change: Record<string, string | undefined> = {}) => {
    const url = new URL(message.payload.ackLink!);
    for (const [name, value] of Object.entries(change)) {
      if (value === undefined) url.searchParams.delete(name);
      else url.searchParams.set(name, value);
    }
    return `${url.pathname}${url.search}`;
  };
  const follow = (method: 'GET' | 'POST', path: string, headers: Record<string, string> = {}) => app.inject({ method, url: path, headers });
  const acks = async () => (await bed.auditEvents()).filter((e) => e.action === 'alert.acknowledged');

  it('POST /v1/alerts/{id}/ack: an incident owner acknowledges with a note (200); again answers the first; a responder 403; unknown 404', async () => {
    const acked = await call('bob', 'POST', `/v1/alerts/${message.id}/ack`, { note: 'on it, INC-1' });
    expect(acked).toEqual({ status: 200, body: { eventId: message.payload.id, ackedBy: 'bob', ackedAt: '2030-01-01T00:00:00.000Z', note: 'on it, INC-1', alreadyAcknowledged: false } });
    const again = await call('audrey', 'POST', `/v1/alerts/${message.id}/ack`, {});
    expect(again).toEqual({ status: 200, body: { ...acked.body, alreadyAcknowledged: true } });
    expect((await call('alice', 'POST', `/v1/alerts/${message.id}/ack`, {})).status).toBe(403);
    expect((await call('admin', 'POST', '/v1/alerts/alr_00000000-0000-0000-0000-000000000000/ack', {})).body.error.code).toBe('not_found');
    expect((await call('admin', 'GET', '/v1/alerts')).body.alerts[0].acked).toEqual({ by: 'bob', at: '2030-01-01T00:00:00.000Z', note: 'on it, INC-1' });
    expect(await acks()).toHaveLength(1);
  });

  it('POST /v1/alerts/{id}/ack: a note with control characters is refused (400), naming the field', async () => {
    const refused = await call('admin', 'POST', `/v1/alerts/${message.id}/ack`, { note: 'seen\u001b[2J' });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'validation', path: 'note' });
    expect(await acks()).toEqual([]);
  });

  it('link: GET shows the button and acknowledges nothing; its POST acknowledges as link:<channel>, with no token; again answers the first', async () => {
    const page = await follow('GET', linkPath());
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.body).toContain('<form method="post" enctype="text/plain">');
    expect(await acks()).toEqual([]);
    bed.clock.advance(60_000);
    // The browser's form post: text/plain, empty body.
    const done = await follow('POST', linkPath(), { 'content-type': 'text/plain' });
    expect(done.statusCode).toBe(200);
    expect(done.body).toContain('Acknowledged by link:secops-hook at 2030-01-01T00:01:00.000Z.');
    const [audited, ...more] = await acks();
    expect(more).toEqual([]);
    expect(audited).toMatchObject({ actor: 'link:secops-hook', subject: message.payload.id, details: { channel: 'secops-hook', via: 'link' } });
    expect((await follow('POST', linkPath())).body).toContain('Acknowledged by link:secops-hook at 2030-01-01T00:01:00.000Z.');
    expect((await follow('GET', linkPath())).body).not.toContain('<form');
    expect(await acks()).toHaveLength(1);
  });

  it('link, tampered: another event, another channel, a later expiry or another signature is 404, all with the same answer', async () => {
    const sig = new URL(message.payload.ackLink!).searchParams.get('s')!;
    const expires = Number(new URL(message.payload.ackLink!).searchParams.get('x'));
    const tampered = [
      linkPath({ e: 'evt-1' }),
      linkPath({ c: 'oncall' }),
      linkPath({ x: String(expires + 3600) }),
      linkPath({ s: `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}` }),
    ];
    for (const path of tampered) {
      for (const method of ['GET', 'POST'] as const) {
        const response = await follow(method, path);
        expect(response.statusCode, `${method} ${path}`).toBe(404);
        expect(response.json<any>().error).toEqual({ code: 'not_found', message: invalidLink });
      }
    }
    expect(await acks()).toEqual([]);
  });

  it('link, expired: refused (404, the same answer) after 24 h; malformed: 400, not saying which part', async () => {
    bed.clock.advance(24 * 3_600_000);
    const expired = await follow('POST', linkPath());
    expect(expired.statusCode).toBe(404);
    expect(expired.json<any>().error.message).toBe(invalidLink);
    for (const path of [linkPath({ s: undefined }), linkPath({ s: 'not-hex' }), linkPath({ x: '-1' }), linkPath({ e: 'evt\n1' }), '/v1/alerts/ack']) {
      const response = await follow('POST', path);
      expect(response.statusCode, path).toBe(400);
      expect(response.json<any>().error).toMatchObject({ code: 'validation', message: 'not an acknowledgement link' });
    }
    expect(await acks()).toEqual([]);
  });

  it('the routes are in the OpenAPI document, the link ones without a token', async () => {
    const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, Record<string, { security?: unknown[] }>> }>();
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/v1/alerts/{id}/ack', '/v1/alerts/ack']));
    expect(document.paths['/v1/alerts/ack']!['post']!.security).toEqual([]);
  });
});
