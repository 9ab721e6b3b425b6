/**
 * The drill route over HTTP on the test bed (`app.inject`, the memory target): the plain JSON
 * report, live progress as JSON Lines when asked for, and refusals that stay ordinary errors.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, bedVaultAccount, createTestBed, type TestBed } from '../../test/support/test-bed.js';
import { runCeremony } from '../modules/custodians/ceremony.js';
import { submitShare } from '../modules/custodians/submit-share.js';
import { inviteUser, redeemInvite } from '../modules/identity/enrolment.js';
import { createToken } from '../modules/identity/identity.js';
import { drillProgressSchema, drillResponseSchema } from '../api/index.js';
import { buildHttpApp, type App } from './http-app.js';

const stepNames = ['invoke', 'login', 'expire', 'verify-revoked', 'rotate', 'verify-rotated'];

describe('POST /v1/accounts/{name}/drill', () => {
  let bed: TestBed;
  let app: App;
  const tokens: Record<string, string> = {};

  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(bedCatalog);
    tokens['alice'] = (await redeemInvite(bed.ctx, (await inviteUser(bed.ctx, bed.actors.admin, 'alice')).code)).token;
    tokens['admin'] = (await createToken(bed.ctx, bed.actors.admin, 'admin')).token;
    app = await buildHttpApp({ ctx: bed.ctx, ready: () => Promise.resolve(true), logger: false, version: 'test' });
  });
  afterEach(async () => {
    await app.close();
    await bed.close();
  });

  const drill = (user: string, account: string, accept?: string) =>
    app.inject({ method: 'POST', url: `/v1/accounts/${account}/drill`, headers: { authorization: `Bearer ${tokens[user] ?? user}`, ...(accept === undefined ? {} : { accept }) }, payload: {} });

  it('answers the report as one JSON object by default', async () => {
    const response = await drill('admin', 'db-breakglass');
    expect(response.statusCode).toBe(200);
    const report = drillResponseSchema.parse(response.json());
    expect(report).toMatchObject({ account: 'db-breakglass', result: 'passed' });
    expect(report.steps.map((s) => s.name)).toEqual(stepNames);
  });

  it('with Accept: application/x-ndjson, each step is a line as it ends, then one result line with the same report', async () => {
    const response = await drill('admin', 'db-breakglass', 'application/x-ndjson, application/json;q=0.5');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const events = response.body.trim().split('\n').map((line) => drillProgressSchema.parse(JSON.parse(line)));
    expect(events.map((e) => (e.event === 'step' ? e.step.name : e.event))).toEqual([...stepNames, 'result']);
    const last = events.at(-1);
    if (last?.event !== 'result') throw new Error('no result line');
    expect(last.report.result).toBe('passed');
    expect(last.report.steps).toEqual(events.flatMap((e) => (e.event === 'step' ? [e.step] : [])));
  });

  it('refusals before the first step stay error answers with their status, also when progress was asked for', async () => {
    const missing = await drill('admin', 'no-such-account', 'application/x-ndjson');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: { code: 'not_found' } });
    const forbidden = await drill('alice', 'db-breakglass', 'application/x-ndjson');
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ error: { code: 'forbidden' } });
  });

  it('a quorum drill streams whom it waits for, then drills with the shares the custodians presented', async () => {
    await bed.apply(`${bedCatalog}${bedVaultAccount}`);
    const { shares } = await runCeremony(bed.ctx, bed.actors.admin, 'db-vault');
    bed.clock.advance(2_000);
    await bed.runDue();
    // light-my-request sends on `then`: Promise.resolve starts it now, while the test goes on.
    const answer = Promise.resolve(app.inject({
      method: 'POST',
      url: '/v1/accounts/db-vault/drill',
      headers: { authorization: `Bearer ${tokens['admin']}`, accept: 'application/x-ndjson' },
      payload: { withQuorum: true },
    }));
    // The custodians, told by the drill's first line, present their shares the normal way.
    let waiting: string | undefined;
    for (let i = 0; i < 400 && waiting === undefined; i++) {
      const grants = await bed.store.transaction((tx) => tx.grants.list({ states: ['awaiting-quorum'], drill: true }));
      waiting = grants[0]?.id;
      if (waiting === undefined) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    if (waiting === undefined) throw new Error(`no waiting drill grant; the answer: ${(await answer).body}`);
    for (const who of ['carol', 'dave'] as const) await submitShare(bed.ctx, bed.actors[who], waiting!, shares[who]!);
    const response = await answer;
    expect(response.statusCode).toBe(200);
    const events = response.body.trim().split('\n').map((line) => drillProgressSchema.parse(JSON.parse(line)));
    expect(events[0]).toMatchObject({ event: 'waiting', grant: waiting, presented: 0, threshold: 2 });
    const last = events.at(-1);
    if (last?.event !== 'result') throw new Error('no result line');
    expect(last.report).toMatchObject({ result: 'passed', quorum: 'drilled', custodians: ['carol', 'dave'] });
  });
});
