/**
 * `POST /v1/users/enroll` (issue 14, part 2) on the test bed through `app.inject`: no bearer
 * token, the invite code is the credential; the contract JSON once; one error for every wrong
 * code; the rules of the password by path; a few attempts a minute per address.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import { inviteUser } from '../../modules/identity/enrolment.js';
import { buildHttpApp, type App } from '../http-app.js';
import { defaultHttpLimits } from '../limits.js';

const enrollAttemptsPerMinute = defaultHttpLimits.enrolment.max;

const password = 'correct horse battery staple';

describe('POST /v1/users/enroll', () => {
  let bed: TestBed;
  let app: App;
  beforeEach(async () => {
    bed = await createTestBed();
    app = await buildHttpApp({ ctx: bed.ctx, ready: () => Promise.resolve(true), logger: false, version: 'test' });
  });
  afterEach(async () => {
    await app.close();
    await bed.close();
  });

  const enroll = async (payload: object, headers: Record<string, string> = {}) => {
    const response = await app.inject({ method: 'POST', url: '/v1/users/enroll', headers, payload });
    return { status: response.statusCode, body: response.json<any>(), headers: response.headers, raw: response.body };
  };
  const invite = async (user = 'alice') => (await inviteUser(bed.ctx, bed.actors.admin, user)).code;

  it('201 with exactly the contract fields, not cacheable, with no bearer token; the code works once', async () => {
    const code = await invite();
    const answer = await enroll({ user: 'alice', code, password });
    expect(answer.status, answer.raw).toBe(201);
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(Object.keys(answer.body).sort()).toStrictEqual(['otpauthUri', 'recoveryCodes', 'totpSecret']);
    expect(answer.body.totpSecret).toMatch(/^[A-Z2-7]{32}$/);
    expect(answer.body.otpauthUri).toMatch(/^otpauth:\/\/totp\/Breakglass:alice\?/);
    expect(answer.body.recoveryCodes).toHaveLength(10);
    expect(answer.raw).not.toContain(password);
    const again = await enroll({ user: 'alice', code, password });
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('unauthenticated');
    expect(await bed.audit()).toContain('user.enrolled');
  });

  it('a wrong code and another user\'s code get the same answer', async () => {
    const bobs = await invite('bob');
    const unknown = await enroll({ user: 'alice', code: `bge_${'B'.repeat(43)}`, password });
    const others = await enroll({ user: 'alice', code: bobs, password });
    expect(unknown.status).toBe(401);
    expect(others.status).toBe(401);
    expect(others.body).toStrictEqual(unknown.body);
  });

  it('a weak password: 400 naming the path and the rule, never the value', async () => {
    const answer = await enroll({ user: 'alice', code: await invite(), password: 'tooshort' });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'validation', path: 'password' });
    expect(answer.body.error.message).toContain('at least 15');
    expect(answer.raw).not.toContain('tooshort');
  });

  it('a body without the password is refused by the schema (400, path named)', async () => {
    const answer = await enroll({ user: 'alice', code: await invite() });
    expect(answer.status).toBe(400);
    expect(answer.body.error.path).toBe('password');
  });

  it(`more than ${enrollAttemptsPerMinute} attempts a minute from one address: 429 with Retry-After, even with a good code`, async () => {
    const statuses: number[] = [];
    for (let i = 0; i < enrollAttemptsPerMinute; i++) statuses.push((await enroll({ user: 'alice', code: `bge_${'C'.repeat(43)}`, password })).status);
    expect(statuses.every((s) => s === 401)).toBe(true);
    const limited = await enroll({ user: 'alice', code: await invite(), password });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // The burst is audited once, as every rate limit of the HTTP layer is.
    expect((await bed.audit()).filter((action) => action === 'auth.rate-limited')).toHaveLength(1);
  });

  it('is in the OpenAPI document without a security requirement', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<any>();
    expect(doc.paths['/v1/users/enroll'].post.security).toStrictEqual([]);
  });
});
