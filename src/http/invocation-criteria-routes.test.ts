/**
 * Invocation criteria over HTTP (issue 11, H4): `POST /v1/grants` refused by a policy criterion
 * answers the criterion as the error's `path` and names it in the message.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../test/support/test-bed.js';
import { inviteUser, redeemInvite } from '../modules/identity/enrolment.js';
import { buildHttpApp, type App } from './http-app.js';

const catalog = bedCatalog.replace('    maxTtl: 1h\n', '    maxTtl: 1h\n    reasonMinLength: 10\n    invokers: [alice]\n');

describe('invocation criteria over HTTP', () => {
  let bed: TestBed;
  let app: App;
  const tokens: Record<string, string> = {};

  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(catalog);
    for (const user of ['alice', 'bob']) tokens[user] = (await redeemInvite(bed.ctx, (await inviteUser(bed.ctx, bed.actors.admin, user)).code)).token;
    app = await buildHttpApp({ ctx: bed.ctx, ready: () => Promise.resolve(true), logger: false, version: 'test' });
  });
  afterEach(async () => {
    await app.close();
    await bed.close();
  });

  const invokeAs = async (user: string, reason: string) => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/grants',
      headers: { authorization: `Bearer ${tokens[user]}` },
      payload: { account: 'db-ephemeral', condition: 'outage', reason, incident: 'INC-7', ttl: '15m' },
    });
    return { status: response.statusCode, body: response.json<{ error?: { code: string; path?: string; message: string }; state?: string }>() };
  };

  it('a refusal carries the failed criterion as its path: reasonMinLength (422), invokers (403)', async () => {
    const short = await invokeAs('alice', 'down');
    expect(short.status).toBe(422);
    expect(short.body.error).toEqual({ code: 'policy_violation', path: 'reasonMinLength', message: expect.stringContaining('reason is 4 characters; policy "p0" requires reasonMinLength 10') });
    const stranger = await invokeAs('bob', 'primary db is down');
    expect(stranger.status).toBe(403);
    expect(stranger.body.error).toMatchObject({ code: 'forbidden', path: 'invokers' });
    const ok = await invokeAs('alice', 'primary db is down');
    expect(ok.status).toBe(201);
  });
});
