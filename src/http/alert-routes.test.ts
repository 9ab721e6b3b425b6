/**
 * The alert routes over HTTP on the test bed (`app.inject`, a recording fake sender): list,
 * retry, channel test, their error codes, and `/readyz` degraded (200) while an alert is dead.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../test/support/test-bed.js';
import { AppError } from '../errors/index.js';
import { createAlertRelay, type AlertRelay, type ChannelSenders } from '../modules/alerts/alert-relay.js';
import { invoke } from '../modules/grants/invoke.js';
import { inviteUser, redeemInvite } from '../modules/identity/enrolment.js';
import { createToken } from '../modules/identity/identity.js';
import type { AlertPayload, ChannelConnection } from '../ports/index.js';
import { buildHttpApp, type App, type HttpDeps } from './http-app.js';

const SECRET = 'hook-secret-value';
const catalog = `${bedCatalog}
channels:
  - { name: secops-hook, type: webhook, url: "http://127.0.0.1:9/hook", secret: ${SECRET}, maxAttempts: 1 }
routes:
  - { events: ["grant.activated"], channels: [secops-hook] }
users:
  - { name: audrey, roles: [auditor] }
`;

describe('alert routes', () => {
  let bed: TestBed;
  let relay: AlertRelay;
  let down: boolean;
  const apps: App[] = [];
  const tokens: Record<string, string> = {};

  const appWith = async (ready: HttpDeps['ready'], senders: ChannelSenders) => {
    const app = await buildHttpApp({ ctx: { ...bed.ctx, channelSenders: senders }, ready, logger: false, version: 'test' });
    apps.push(app);
    return app;
  };
  const deadAlerts = () => bed.store.transaction(async (tx) => ({ ready: true, deadAlerts: await tx.outbox.countDead() }));

  beforeEach(async () => {
    bed = await createTestBed();
    down = true;
    const sender = (channel: ChannelConnection, _payload: AlertPayload) =>
      down ? Promise.reject(new AppError('target_error', `webhook channel "${channel.name}" answered HTTP 403: the receiver refused the alert`)) : Promise.resolve({ status: 'HTTP 204' });
    const senders = { webhook: () => Promise.resolve(sender) };
    relay = createAlertRelay(bed.ctx, senders, { random: () => 0 });
    await bed.apply(catalog);
    for (const user of ['alice', 'audrey']) tokens[user] = (await redeemInvite(bed.ctx, (await inviteUser(bed.ctx, bed.actors.admin, user)).code)).token;
    tokens['admin'] = (await createToken(bed.ctx, bed.actors.admin, 'admin')).token;
    await appWith(deadAlerts, senders);
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await bed.close();
  });

  const call = async (user: string, method: 'GET' | 'POST', url: string, app = apps[0]!) => {
    const response = await app.inject({ method, url, headers: { authorization: `Bearer ${tokens[user] ?? user}` } });
    return { status: response.statusCode, body: response.json<any>() };
  };
  /** An activation alert the channel refused once, with maxAttempts 1: dead. */
  const deadAlert = async () => {
    await invoke(bed.ctx, bed.actors.alice, { account: 'db-ephemeral', condition: 'outage', reason: 'primary down', incident: 'INC-1', ttl: '15m' });
    await relay.tick();
    const listed = await call('admin', 'GET', '/v1/alerts?state=dead');
    return listed.body.alerts[0].id as string;
  };

  it('GET /v1/alerts: admins and auditors, {alerts: [{id, event, channel, state, attempts, …}]}; a responder gets 403; bad filters 400', async () => {
    const id = await deadAlert();
    const listed = await call('audrey', 'GET', '/v1/alerts');
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({
      alerts: [
        {
          id,
          event: 'grant.activated',
          channel: 'secops-hook',
          state: 'dead',
          attempts: 1,
          eventId: expect.stringMatching(/^evt-\d+$/),
          grant: expect.stringMatching(/^gr_/),
          account: 'db-ephemeral',
          createdAt: '2030-01-01T00:00:00.000Z',
          lastError: 'webhook channel "secops-hook" answered HTTP 403: the receiver refused the alert',
        },
      ],
    });
    expect((await call('admin', 'GET', '/v1/alerts?state=sent&limit=10')).body).toEqual({ alerts: [] });
    const refused = await call('alice', 'GET', '/v1/alerts');
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('forbidden');
    expect((await call('admin', 'GET', '/v1/alerts?state=lost')).body.error).toMatchObject({ code: 'validation', path: 'querystring.state' });
    expect((await call('admin', 'GET', '/v1/alerts?limit=0')).status).toBe(400);
    expect(JSON.stringify(listed.body)).not.toContain(SECRET);
  });

  it('POST /v1/alerts/{id}/retry: a dead alert is pending again (200); again 409; unknown 404; an auditor 403; not an id 400', async () => {
    const id = await deadAlert();
    expect((await call('audrey', 'POST', `/v1/alerts/${id}/retry`)).status).toBe(403);
    const retried = await call('admin', 'POST', `/v1/alerts/${id}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ id, state: 'pending', attempts: 0, event: 'grant.activated', channel: 'secops-hook' });
    const again = await call('admin', 'POST', `/v1/alerts/${id}/retry`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('conflict');
    expect((await call('admin', 'POST', '/v1/alerts/alr_00000000-0000-0000-0000-000000000000/retry')).body.error.code).toBe('not_found');
    expect((await call('admin', 'POST', '/v1/alerts/gr_not-an-alert/retry')).status).toBe(400);
  });

  it('POST /v1/channels/{name}/test: the receiver\'s answer, a refusal as ok: false (still 200); unknown 404; an auditor 403', async () => {
    const failed = await call('admin', 'POST', '/v1/channels/secops-hook/test');
    expect(failed).toEqual({ status: 200, body: { channel: 'secops-hook', ok: false, error: 'webhook channel "secops-hook" answered HTTP 403: the receiver refused the alert' } });
    down = false;
    expect(await call('admin', 'POST', '/v1/channels/secops-hook/test')).toEqual({ status: 200, body: { channel: 'secops-hook', ok: true, status: 'HTTP 204' } });
    expect((await call('admin', 'POST', '/v1/channels/nowhere/test')).body.error.code).toBe('not_found');
    expect((await call('audrey', 'POST', '/v1/channels/secops-hook/test')).status).toBe(403);
    expect((await bed.audit()).filter((a) => a === 'channel.tested')).toHaveLength(2);
  });

  it('the routes are in the OpenAPI document', async () => {
    const response = await apps[0]!.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    expect(Object.keys(response.json<{ paths: object }>().paths)).toEqual(expect.arrayContaining(['/v1/alerts', '/v1/alerts/{id}/retry', '/v1/channels/{name}/test']));
  });

  it('/readyz: ready; degraded (200, with the count) while an alert is dead; ready again once it is retried; 503 when not ready', async () => {
    const readyz = async (app = apps[0]!) => {
      const response = await app.inject({ method: 'GET', url: '/readyz' });
      return { status: response.statusCode, body: response.json<unknown>() };
    };
    expect(await readyz()).toEqual({ status: 200, body: { status: 'ready' } });
    const id = await deadAlert();
    expect(await readyz()).toEqual({ status: 200, body: { status: 'degraded', deadAlerts: 1 } });
    await call('admin', 'POST', `/v1/alerts/${id}/retry`);
    expect(await readyz()).toEqual({ status: 200, body: { status: 'ready' } });
    expect(await readyz(await appWith(() => Promise.resolve(false), {}))).toEqual({ status: 503, body: { status: 'unavailable' } });
    expect(await readyz(await appWith(() => Promise.reject(new Error('store gone')), {}))).toEqual({ status: 503, body: { status: 'unavailable' } });
    expect(await readyz(await appWith(() => Promise.resolve(true), {}))).toEqual({ status: 200, body: { status: 'ready' } });
  });
});
