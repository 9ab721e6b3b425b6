/**
 * issue 13 (authread): the /v1 hook does not read a token found live less than 1 s ago
 * (identity.ts `checkedTokens`), and forgets every such token around each request that may
 * write: a token revoked, a user disabled or a role changed through this server is seen by the
 * very next request. A change this server did not make (another instance on the same
 * PostgreSQL) is seen within the TTL.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../test/support/test-bed.js';
import { inviteUser, redeemInvite } from '../modules/identity/enrolment.js';
import { checkedTokenTtlMs, createToken } from '../modules/identity/identity.js';
import { buildHttpApp, type App } from './http-app.js';

describe('authenticated reads over HTTP: checked tokens', () => {
  let bed: TestBed;
  let app: App;
  let reads: number;
  const tokens: Record<string, { id: string; token: string }> = {};

  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(bedCatalog);
    for (const user of ['alice', 'bob']) tokens[user] = await redeemInvite(bed.ctx, (await inviteUser(bed.ctx, bed.actors.admin, user)).code);
    tokens['admin'] = await createToken(bed.ctx, bed.actors.admin, 'admin');
    reads = 0;
    // The real store, counting the reads made through it.
    const store = { ...bed.store, read: ((work) => (reads++, bed.store.read(work))) as TestBed['store']['read'] };
    app = await buildHttpApp({ ctx: { ...bed.ctx, store }, ready: () => Promise.resolve(true), logger: false, version: 'test' });
  });
  afterEach(async () => {
    await app.close();
    await bed.close();
  });

  const call = async (user: string, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) => {
    const response = await app.inject({ method, url, headers: { authorization: `Bearer ${tokens[user]!.token}` }, ...(payload === undefined ? {} : { payload }) });
    return { status: response.statusCode, body: response.json<any>() };
  };
  const catalog = (users: object[]) => ({
    targets: [{ name: 'db', type: 'exec', command: '/dev/null/memory-target' }],
    policies: [{ name: 'p0', conditions: ['outage'], approval: { mode: 'post-hoc' }, defaultTtl: '15m', maxTtl: '1h' }],
    accounts: [{ name: 'db-ephemeral', target: 'db', mode: 'ephemeral', policy: 'p0' }],
    users: [
      { name: 'admin', roles: ['admin'] },
      { name: 'alice', roles: ['responder'] },
      { name: 'bob', roles: ['incident-owner'] },
      { name: 'carol', roles: ['custodian'] },
      { name: 'dave', roles: ['custodian'] },
      { name: 'erin', roles: ['custodian'] },
      ...users,
    ].filter((u, i, all) => all.findLastIndex((v) => (v as { name: string }).name === (u as { name: string }).name) === i),
  });

  it('a second GET within 1 s reads the grant but not the token again', async () => {
    const invoked = await call('alice', 'POST', '/v1/grants', { account: 'db-ephemeral', condition: 'outage', reason: 'primary down', incident: 'INC-7', ttl: '10m' });
    expect(invoked.status, JSON.stringify(invoked.body)).toBe(201);
    const path = `/v1/grants/${invoked.body.id as string}`;
    expect((await call('alice', 'GET', path)).status).toBe(200);
    const before = reads;
    expect((await call('alice', 'GET', path)).status).toBe(200);
    expect(reads - before).toBe(1);
    bed.clock.advance(checkedTokenTtlMs);
    expect((await call('alice', 'GET', path)).status).toBe(200);
    expect(reads - before).toBe(3);
  });

  it('a token revoked over DELETE /v1/tokens/{id} is refused on the very next request', async () => {
    expect((await call('alice', 'GET', '/v1/whoami')).status).toBe(200);
    expect((await call('alice', 'GET', '/v1/whoami')).status).toBe(200);
    expect((await call('admin', 'DELETE', `/v1/tokens/${tokens['alice']!.id}`)).status).toBe(200);
    expect((await call('alice', 'GET', '/v1/whoami')).status).toBe(401);
  });

  it('a user disabled by POST /v1/apply is refused on the very next request; a changed role is seen at once', async () => {
    expect((await call('alice', 'GET', '/v1/whoami')).body.roles).toStrictEqual(['responder']);
    expect((await call('bob', 'GET', '/v1/whoami')).status).toBe(200);
    const applied = await call('admin', 'POST', '/v1/apply', catalog([{ name: 'alice', roles: ['responder', 'auditor'] }, { name: 'bob', roles: ['incident-owner'], disabled: true }]));
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    expect((await call('bob', 'GET', '/v1/whoami')).status).toBe(401);
    expect((await call('alice', 'GET', '/v1/whoami')).body.roles).toStrictEqual(['responder', 'auditor']);
  });

  it('a token revoked by someone else (another instance of the store) is refused once the TTL is over', async () => {
    expect((await call('alice', 'GET', '/v1/whoami')).status).toBe(200);
    await bed.store.transaction((tx) => tx.tokens.revoke(tokens['alice']!.id as never, bed.clock.now()));
    bed.clock.advance(checkedTokenTtlMs);
    expect((await call('alice', 'GET', '/v1/whoami')).status).toBe(401);
  });
});
