/** The HTTP surface: OpenAPI, docs, health, error shape, validation messages. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ dialect: 'sqlite' });
});
afterAll(async () => {
  await h?.stop();
});

describe('HTTP API', () => {
  it('serves OpenAPI 3.1 with the contract routes', async () => {
    const spec = (await (await fetch(`${h.server.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(spec.openapi).toBe('3.1.0');
    for (const path of ['/v1/accounts', '/v1/grants', '/v1/grants/{id}', '/v1/grants/{id}/reveal', '/v1/grants/{id}/end', '/v1/grants/{id}/certify', '/v1/audit/verify']) {
      expect(spec.paths, path).toHaveProperty([path]);
    }
  });

  it('serves docs, liveness and readiness', async () => {
    expect((await fetch(`${h.server.url}/docs`)).status).toBeLessThan(400);
    expect(await (await fetch(`${h.server.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${h.server.url}/readyz`)).json()).toEqual({ status: 'ready' });
  });

  it('errors are {error: {code, message}} with the right status and no stack trace', async () => {
    const unauth = await h.call('', 'GET', '/v1/accounts');
    expect(unauth.status).toBe(401);
    expect(unauth.body.error.code).toBe('unauthenticated');
    const missing = await h.call(h.adminToken, 'GET', '/v1/nowhere');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    const bad = await h.call(h.adminToken, 'POST', '/v1/grants', { account: 'x', condition: 'outage', reason: 'r', incident: 5 });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'validation', path: 'incident' });
    const notJson = await fetch(`${h.server.url}/v1/grants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.adminToken}`, 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(notJson.status).toBe(400);
    const text = await notJson.text();
    expect(text).not.toMatch(/\n\s+at /);
    expect(JSON.parse(text)).toHaveProperty('error.code');
  });

  it('an invalid catalog names the path and changes nothing', async () => {
    const doc = {
      targets: [],
      policies: [{ name: 'p0', conditions: ['outage'], approval: { mode: 'post-hoc' }, defaultTtl: '15m', maxTtl: '1h' }],
      accounts: [{ name: 'a', target: 't', mode: 'prestaged', role: 'r', policy: 'p9' }],
      users: [],
    };
    const refused = await h.call(h.adminToken, 'POST', '/v1/apply', doc);
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain('accounts[0].policy: unknown policy "p9"');
    const accounts = await h.call(h.adminToken, 'GET', '/v1/accounts');
    expect(accounts.body).toEqual({ accounts: [] });
  });
});
