/**
 * Issue 11 (H3), points 7: certification on a deadline (`certifyWithin`, a durable job) and the
 * misuse review (`--misuse-suspected yes` → `under-review` → an admin's resolution), on the test
 * bed with the fake clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import type { Grant } from '../../domain/index.js';
import { isAppError } from '../../errors/index.js';
import { createScheduler } from '../../scheduler/scheduler.js';
import { jobHandlers } from '../jobs/job-handlers.js';
import { certify } from './certify.js';
import { endGrant } from './end-grant.js';
import { invoke } from './invoke.js';
import { resolveReview } from './resolve-review.js';
import { showGrant } from './show-grant.js';
import { governanceReport } from '../report/governance-report.js';

const hours = (n: number) => n * 3_600_000;
const answers = { necessary: true, scoped: true, removed: true, note: 'ok' };
const catalog = `${bedCatalog.replace('    maxTtl: 1h\n', '    maxTtl: 1h\n    certifyWithin: 72h\n')}
channels:
  - { name: secops-hook, type: webhook, url: "http://127.0.0.1:9/hook", secret: hook-secret-value }
routes:
  - events: ["grant.certification-deadline-passed"]
    channels: [secops-hook]
`;

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error: unknown = await promise.then(() => undefined, (e: unknown) => e);
  if (!isAppError(error)) throw new Error(`expected an AppError, got ${String(error)}`);
  return error.code;
}

describe('certification deadline and misuse review', () => {
  let bed: TestBed;
  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(catalog);
    bed.clock.advance(2_000);
    await bed.runDue();
  });
  afterEach(async () => {
    await bed.close();
  });

  /** An ephemeral case ended by its requester and revoked: awaiting certification. */
  async function awaitingCertification(): Promise<Grant> {
    const grant = await invoke(bed.ctx, bed.actors.alice, { account: 'db-ephemeral', condition: 'outage', reason: 'primary down', incident: 'INC-7', ttl: '15m' });
    await endGrant(bed.ctx, bed.actors.alice, grant.id);
    await bed.runDue();
    const now = await showGrant(bed.ctx, bed.actors.bob, grant.id);
    expect(now.state).toBe('awaiting-certification');
    return now;
  }
  const deadlineEvents = async (grant: Grant) => (await bed.auditEvents()).filter((e) => e.subject === grant.id && e.action === 'grant.certification-deadline-passed');

  it('certifyWithin: a case awaiting certification past its deadline is certification-overdue, audited once and alerted', async () => {
    const grant = await awaitingCertification();
    const reachedAt = bed.clock.now().getTime();
    // The deadline is a durable job written when the case reached awaiting-certification.
    expect((await bed.jobs(grant.id)).filter((job) => job.kind === 'certification-deadline').map((job) => [job.kind, job.dueAt.getTime()])).toEqual([['certification-deadline', reachedAt + hours(72)]]);

    bed.clock.advance(hours(72) - 1);
    await bed.runDue();
    expect((await showGrant(bed.ctx, bed.actors.bob, grant.id)).certificationOverdueAt).toBeUndefined();

    bed.clock.advance(1);
    expect(await bed.runDue()).toBe(1);
    const overdue = await showGrant(bed.ctx, bed.actors.bob, grant.id);
    expect(overdue).toMatchObject({ state: 'awaiting-certification', certificationOverdueAt: new Date(reachedAt + hours(72)) });
    const events = await deadlineEvents(grant);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor: 'system', details: { from: 'awaiting-certification', to: 'awaiting-certification', certifyWithinMs: hours(72), policy: 'p0' } });
    const alerts = await bed.store.transaction((tx) => tx.outbox.list({}));
    expect(alerts.map((m) => [m.payload.event, m.payload.severity])).toEqual([['grant.certification-deadline-passed', 'warning']]);

    // Still certifiable, and nothing more is raised later.
    bed.clock.advance(hours(100));
    await bed.runDue();
    expect(await deadlineEvents(grant)).toHaveLength(1);
    expect((await certify(bed.ctx, bed.actors.bob, grant.id, answers)).state).toBe('closed');
  });

  it('certifyWithin: the deadline survives a restart (a new scheduler on the same store runs it)', async () => {
    const grant = await awaitingCertification();
    bed.clock.advance(hours(73));
    const restarted = createScheduler({ store: bed.store, clock: bed.clock, handlers: jobHandlers(bed.ctx), retry: bed.ctx.retry, log: bed.ctx.log, heartbeatMs: 0 });
    for (let ran = 1; ran > 0; ) ran = await restarted.runDue();
    expect((await showGrant(bed.ctx, bed.actors.bob, grant.id)).certificationOverdueAt).toBeDefined();
  });

  it('certifyWithin: a case certified before its deadline is never marked overdue', async () => {
    const grant = await awaitingCertification();
    await certify(bed.ctx, bed.actors.bob, grant.id, answers);
    bed.clock.advance(hours(80));
    await bed.runDue();
    expect(await deadlineEvents(grant)).toEqual([]);
    expect((await showGrant(bed.ctx, bed.actors.bob, grant.id)).certificationOverdueAt).toBeUndefined();
  });

  it('certifyWithin is stored with the policy and its change is audited with the diff', async () => {
    await bed.apply(catalog.replace('certifyWithin: 72h', 'certifyWithin: 24h'));
    const changed = (await bed.auditEvents()).filter((e) => e.action === 'policy.changed').at(-1);
    expect(JSON.stringify(changed?.details)).toMatch(/certifyWithinMs/);
    const policies = await bed.store.transaction((tx) => tx.catalog.listPolicies());
    expect(policies.find((p) => p.name === 'p0')?.certifyWithinMs).toBe(hours(24));
  });

  it('a policy without certifyWithin writes no deadline job', async () => {
    await bed.apply(bedCatalog);
    const grant = await awaitingCertification();
    expect((await bed.jobs(grant.id)).filter((job) => job.kind === 'certification-deadline')).toEqual([]);
  });

  it('misuse suspected: the case stays open under review until an admin resolves it with a note', async () => {
    const grant = await awaitingCertification();
    const review = await certify(bed.ctx, bed.actors.bob, grant.id, { ...answers, scoped: false, misuseSuspected: true });
    expect(review).toMatchObject({ state: 'under-review', closedAt: undefined, certification: { misuseSuspected: true, byName: 'bob' } });
    expect(await refusal(certify(bed.ctx, bed.actors.bob, grant.id, answers))).toBe('invalid_transition');
    // An incident owner certifies; only an admin resolves.
    expect(await refusal(resolveReview(bed.ctx, bed.actors.bob, grant.id, 'fine'))).toBe('forbidden');

    bed.clock.advance(60_000);
    const closed = await resolveReview(bed.ctx, bed.actors.admin, grant.id, 'talked to alice: needed, but scope too wide');
    expect(closed).toMatchObject({ state: 'closed', closedAt: bed.clock.now(), resolution: { byName: 'admin', note: 'talked to alice: needed, but scope too wide' } });
    const reread = await showGrant(bed.ctx, bed.actors.bob, grant.id);
    expect(reread.resolution).toMatchObject({ byName: 'admin', at: bed.clock.now() });
    expect(reread.certification?.misuseSuspected).toBe(true);
    const actions = (await bed.auditEvents()).filter((e) => e.subject === grant.id).map((e) => e.action);
    expect(actions.slice(-2)).toEqual(['grant.certified', 'grant.review-resolved']);
    expect((await bed.verify()).ok).toBe(true);
  });

  it('the governance report lists a case certified with misuse suspected, under review or resolved', async () => {
    const grant = await awaitingCertification();
    await certify(bed.ctx, bed.actors.bob, grant.id, { ...answers, misuseSuspected: true });
    const during = await governanceReport(bed.ctx, bed.actors.admin, { since: new Date(0) });
    expect(during.figures.misuseSuspected).toEqual([expect.objectContaining({ id: grant.id, signals: ['certified-misuse-suspected'] })]);
    expect(during.figures.byState).toMatchObject({ 'under-review': 1 });
    await resolveReview(bed.ctx, bed.actors.admin, grant.id, 'reviewed');
    const after = await governanceReport(bed.ctx, bed.actors.admin, { since: new Date(0) });
    expect(after.figures.misuseSuspected.map((c) => c.id)).toEqual([grant.id]);
  });

  it('separation of duties: an admin cannot resolve the review of their own case', async () => {
    const grant = await invoke(bed.ctx, bed.actors.admin, { account: 'db-ephemeral', condition: 'outage', reason: 'primary down', incident: 'INC-8', ttl: '15m' });
    await endGrant(bed.ctx, bed.actors.admin, grant.id);
    await bed.runDue();
    await certify(bed.ctx, bed.actors.bob, grant.id, { ...answers, misuseSuspected: true });
    expect(await refusal(resolveReview(bed.ctx, bed.actors.admin, grant.id, 'all good'))).toBe('separation_of_duties');
    expect((await showGrant(bed.ctx, bed.actors.bob, grant.id)).state).toBe('under-review');
  });
});
