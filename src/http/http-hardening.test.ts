/**
 * The HTTP edge under hostile clients, on the test bed through `app.inject` (one real socket
 * for the idle-connection limit): control characters refused by name, bounded bodies and JSON
 * nesting, rate limits on failed authentication and on `/v1/sys/*` with their audit event,
 * security headers, no-store answers and a case-insensitive `Bearer`.
 */
import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { bedCatalog, createTestBed, type TestBed } from '../../test/support/test-bed.js';
import { createToken } from '../modules/identity/identity.js';
import type { SealGate } from '../ports/index.js';
import { buildHttpApp, buildSealedHttpApp, type App, type HttpDeps } from './http-app.js';

const sealedGate: SealGate = {
  status: () => ({ sealed: true, mode: 'shamir', threshold: 3, shares: 5, progress: 0 }),
  unseal: () => Promise.resolve({ sealed: true, mode: 'shamir', threshold: 3, shares: 5, progress: 1 }),
};

describe('HTTP hardening on the test bed', () => {
  let bed: TestBed;
  let app: App;
  let logLines: string[];
  const tokens: Record<string, string> = {};

  const build = async (extra: Partial<HttpDeps> = {}) => {
    await app?.close();
    logLines = [];
    const logger = { level: 'warn', stream: { write: (line: string) => void logLines.push(line) } };
    app = await buildHttpApp({ ctx: bed.ctx, ready: () => Promise.resolve(true), logger, version: 'test', seal: sealedGate, ...extra });
    return app;
  };

  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(bedCatalog);
    for (const user of ['alice', 'bob', 'admin'] as const) tokens[user] = (await createToken(bed.ctx, bed.actors[user], user)).token;
    await build();
  });
  afterEach(async () => {
    await app.close();
    await bed.close();
  });

  const call = async (user: string | undefined, method: 'GET' | 'POST', url: string, payload?: object | string, headers: Record<string, string> = {}) => {
    const response = await app.inject({
      method,
      url,
      headers: { ...(user === undefined ? {} : { authorization: `Bearer ${tokens[user] ?? user}` }), ...(typeof payload === 'string' ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(payload === undefined ? {} : { payload }),
    });
    return { status: response.statusCode, body: response.json<any>(), headers: response.headers };
  };
  const invokeBody = { account: 'db-breakglass', condition: 'outage', reason: 'primary down', incident: 'INC-7', ttl: '10m' };

  it('terminal output is safe: the API refuses control characters in every free-text field, naming the field', async () => {
    // The catalog's fields come from each connector's spec: every string of it is checked.
    const hostileCatalog = parseYaml(bedCatalog) as { policies: { conditions: string[] }[] };
    hostileCatalog.policies[0]!.conditions.push('outage\u001b]0;x\u0007');
    const hostile: [string, string, object][] = [
      ['reason', '/v1/grants', { ...invokeBody, reason: 'down\u001b[1A\u001b[2Kok' }],
      ['incident', '/v1/grants', { ...invokeBody, incident: 'INC-7\u202e' }],
      ['condition', '/v1/grants', { ...invokeBody, condition: 'outage\u0000' }],
      ['account', '/v1/grants', { ...invokeBody, account: 'db\u009b' }],
      ['reason', '/v1/grants', { ...invokeBody, reason: 'down\rforged' }],
      ['incident', '/v1/grants', { ...invokeBody, incident: 'INC-7\nforged' }],
      ['user', '/v1/tokens', { user: 'alice\u2066' }],
      [`policies[0].conditions[${hostileCatalog.policies[0]!.conditions.length - 1}]`, '/v1/apply', hostileCatalog],
    ];
    for (const [path, url, body] of hostile) {
      const refused = await call(url === '/v1/grants' ? 'alice' : 'admin', 'POST', url, body);
      expect(refused.status, `${url} ${path}`).toBe(400);
      expect(refused.body.error, `${url} ${path} ${JSON.stringify(refused.body)}`).toMatchObject({ code: 'validation', path });
      expect(refused.body.error.message).toContain('control characters');
    }
    // A reason may span lines and hold tabs; a certification note too.
    const invoked = await call('alice', 'POST', '/v1/grants', { ...invokeBody, reason: 'primary down\n\tfailover failed' });
    expect(invoked.status).toBe(201);
    const note = await call('bob', 'POST', `/v1/grants/${invoked.body.id}/certify`, { necessary: true, scoped: true, removed: true, note: 'x\u001b[31m' });
    expect(note.body.error).toMatchObject({ code: 'validation', path: 'note' });
  });

  it('requests are bounded: a small body limit on routes that take small bodies, a larger one for the catalog', async () => {
    const big = 'x'.repeat(100_000);
    const invoked = (await call('alice', 'POST', '/v1/grants', invokeBody)).body.id as string;
    for (const [user, url, body] of [
      ['bob', `/v1/grants/${invoked}/certify`, { necessary: true, scoped: true, removed: true, note: big }],
      ['admin', '/v1/tokens', { user: big }],
      ['alice', `/v1/grants/${invoked}/shares`, { share: big }],
    ] as const) {
      const refused = await call(user, 'POST', url, body);
      expect(refused.status, url).toBe(413);
    }
    expect((await call(undefined, 'POST', '/v1/sys/unseal', { share: big })).status).toBe(413);
    // The catalog takes more: this one is refused for what it says, not for its size.
    const catalog = await call('admin', 'POST', '/v1/apply', { targets: [], policies: [], accounts: [], users: [], padding: big });
    expect(catalog.status).toBe(400);
    expect(catalog.body.error.message).not.toMatch(/too large/i);
  });

  it('requests are bounded: a JSON body nested deeper than the limit is refused before it is parsed', async () => {
    const deep = `{"reason":${'['.repeat(5_000)}${']'.repeat(5_000)}}`;
    const refused = await call('alice', 'POST', '/v1/grants', deep);
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain('deeper than 32 levels');
    // Brackets inside strings are text, not nesting.
    const brackets = await call('alice', 'POST', '/v1/grants', JSON.stringify({ ...invokeBody, reason: '[['.repeat(100) }));
    expect(brackets.status).toBe(201);
  });

  it('requests are bounded: failed authentications are rate limited per address, with one warning and one audit event per burst', async () => {
    await build({ limits: { authFailures: { max: 3, windowMs: 60_000 } } });
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push((await call(`bg_${'x'.repeat(40)}`, 'GET', '/v1/grants')).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429, 429, 429]);
    const limited = await call(`bg_${'x'.repeat(40)}`, 'GET', '/v1/grants');
    expect(limited.body.error.code).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // A valid token from the same address still works: a guesser cannot lock responders out.
    expect((await call('alice', 'GET', '/v1/grants')).status).toBe(200);
    const events = (await bed.auditEvents()).filter((event) => event.action === 'auth.rate-limited');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor: 'system', subject: '127.0.0.1', details: { scope: 'authentication', max: 3 } });
    expect(logLines.filter((line) => line.includes('rate limit exceeded'))).toHaveLength(1);
  });

  it('requests are bounded: /v1/sys/* is rate limited per address, sealed or not', async () => {
    await build({ limits: { sys: { max: 2, windowMs: 60_000 } } });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(undefined, 'GET', '/v1/sys/seal-status')).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
    expect((await bed.auditEvents()).filter((event) => event.action === 'auth.rate-limited')).toMatchObject([{ details: { scope: 'sys' } }]);

    const sealed = await buildSealedHttpApp({ seal: sealedGate, logger: false, limits: { sys: { max: 2, windowMs: 60_000 } } });
    try {
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push((await sealed.inject({ method: 'POST', url: '/v1/sys/unseal', payload: { share: 'a-share-of-the-key' } })).statusCode);
      expect(answers).toEqual([200, 200, 429]);
    } finally {
      await sealed.close();
    }
  });

  it('requests are bounded: a client that connects and sends nothing is disconnected', async () => {
    await build({ limits: { connectionTimeoutMs: 300 } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    const socket = connect(port, '127.0.0.1');
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const closed = await new Promise<boolean>((resolve) => {
      socket.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 5_000).unref();
    });
    socket.destroy();
    expect(closed).toBe(true);
  });

  it('HTTP hygiene: security headers on every response, and a CSP under which /docs loads its own scripts', async () => {
    for (const url of ['/healthz', '/v1/grants', '/openapi.json', '/docs/', '/nowhere']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.headers['x-content-type-options'], url).toBe('nosniff');
      expect(response.headers['content-security-policy'], url).toContain("default-src 'self'");
      expect(response.headers['content-security-policy'], url).toContain("frame-ancestors 'self'");
    }
    const docs = await app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    const csp = docs.headers['content-security-policy'] as string;
    expect(csp).toContain("script-src 'self'");
    // Every script of the docs page is its own file, served from here: the CSP lets them run.
    const scripts = [...docs.body.matchAll(/<script([^>]*)>([^<]*)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, inline] of scripts) {
      expect(attributes).toMatch(/src="\.?\/?[^":]+"/);
      expect(inline?.trim()).toBe('');
    }
  });

  it('HTTP hygiene: every API answer carrying a secret or a token, and every refusal of one, has Cache-Control: no-store', async () => {
    const id = (await call('alice', 'POST', '/v1/grants', invokeBody)).body.id as string;
    const answers = [
      await call('alice', 'POST', `/v1/grants/${id}/reveal`),
      await call('alice', 'POST', `/v1/grants/${id}/reveal`),
      await call('admin', 'POST', '/v1/tokens', { user: 'alice' }),
      await call('alice', 'POST', '/v1/tokens', { user: 'alice' }),
      await call('alice', 'GET', `/v1/grants/${id}`),
    ];
    // An admin may not mint a person's token (403); the person mints their own (201).
    expect(answers.map((answer) => answer.status)).toEqual([200, 409, 403, 201, 200]);
    for (const answer of answers) expect(answer.headers['cache-control']).toBe('no-store');
  });

  it('HTTP hygiene: the Bearer auth scheme is case-insensitive', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer', 'bEaReR']) {
      const response = await call(undefined, 'GET', '/v1/grants', undefined, { authorization: `${scheme} ${tokens['alice']}` });
      expect(response.status, scheme).toBe(200);
    }
    expect((await call(undefined, 'GET', '/v1/grants', undefined, { authorization: `Basic ${tokens['alice']}` })).status).toBe(401);
  });
});
