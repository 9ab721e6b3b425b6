/**
 * Scheduled drills on the test bed (issue 10): the catalog's `drill: {schedule, maxAge}` is a
 * durable job written at apply, fired by the scheduler on the fake clock, and scheduled again
 * after each run.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import { createScheduler } from '../../scheduler/scheduler.js';
import { invoke } from '../grants/invoke.js';
import { jobHandlers } from '../jobs/job-handlers.js';
import { nextDrillAt } from './drill-schedule.js';

const scheduled = bedCatalog.replace(
  '  - { name: db-breakglass, target: db, mode: prestaged, user: bg_admin, policy: p0 }',
  '  - { name: db-breakglass, target: db, mode: prestaged, user: bg_admin, policy: p0, drill: { schedule: "0 3 * * 1", maxAge: 35d } }',
);

describe('scheduled drills', () => {
  let bed: TestBed;
  beforeEach(async () => {
    bed = await createTestBed(); // 2030-01-01 is a Tuesday
  });
  afterEach(async () => {
    await bed.close();
  });

  const accountId = async () => (await bed.store.transaction((tx) => tx.catalog.findAccountByName('db-breakglass')))!.id;
  const drillJobs = async () => (await bed.jobs(await accountId())).filter((j) => j.kind === 'drill').map((j) => j.dueAt.toISOString());

  it('a scheduled drill fires on the fake clock via runDue and reschedules itself', async () => {
    await bed.apply(scheduled);
    await bed.runDue();
    expect(await drillJobs()).toEqual(['2030-01-07T03:00:00.000Z']);
    // Applying again does not add a second job.
    await bed.apply(scheduled);
    expect(await drillJobs()).toEqual(['2030-01-07T03:00:00.000Z']);

    bed.clock.set(new Date('2030-01-07T02:59:59.000Z'));
    await bed.runDue();
    expect(await bed.audit()).not.toContain('drill.passed');

    bed.clock.set(new Date('2030-01-07T03:00:00.000Z'));
    await bed.runDue();
    const events = await bed.auditEvents();
    const passed = events.filter((e) => e.action === 'drill.passed');
    expect(passed).toHaveLength(1);
    expect(passed[0]).toMatchObject({ actor: 'system', details: { account: 'db-breakglass' } });
    expect(events.find((e) => e.action === 'grant.requested' && (e.details as { drill?: boolean }).drill === true)).toMatchObject({ details: { scheduled: true } });
    expect(await drillJobs()).toEqual(['2030-01-14T03:00:00.000Z']);
    expect(await bed.verify()).toMatchObject({ ok: true });
  });

  it('a restart loses no drill: a fresh scheduler on the same store runs the due drill job', async () => {
    await bed.apply(scheduled);
    await bed.runDue();
    bed.clock.set(new Date('2030-01-07T03:00:00.000Z'));
    const restarted = createScheduler({ store: bed.store, clock: bed.clock, handlers: jobHandlers(bed.ctx), retry: bed.ctx.retry, log: bed.ctx.log, heartbeatMs: 0 });
    while ((await restarted.runDue()) > 0);
    expect(await bed.audit()).toContain('drill.passed');
    expect(await drillJobs()).toEqual(['2030-01-14T03:00:00.000Z']);
  });

  it('a drill due while a case holds the account is skipped, not failed, and the next one is scheduled', async () => {
    await bed.apply(scheduled);
    await bed.runDue();
    bed.clock.set(new Date('2030-01-07T02:50:00.000Z'));
    await invoke(bed.ctx, bed.actors.alice, { account: 'db-breakglass', condition: 'outage', reason: 'r', incident: 'INC-7', ttl: '1h' });
    bed.clock.set(new Date('2030-01-07T03:00:00.000Z'));
    await bed.runDue();
    const actions = await bed.audit();
    expect(actions).not.toContain('drill.failed');
    expect(actions).not.toContain('drill.passed');
    expect(bed.logs.map((l) => l.message)).toContain('scheduled drill skipped: a case holds the account');
    expect(await drillJobs()).toEqual(['2030-01-14T03:00:00.000Z']);
  });

  it('a schedule removed from the catalog stops at its next firing', async () => {
    await bed.apply(scheduled);
    await bed.apply(bedCatalog);
    bed.clock.set(new Date('2030-01-07T03:00:00.000Z'));
    await bed.runDue();
    expect(await bed.audit()).not.toContain('drill.passed');
    expect(await drillJobs()).toEqual([]);
  });

  it('a catalog with a malformed cron expression is refused with the path named', async () => {
    await expect(bed.apply(scheduled.replace('0 3 * * 1', 'every monday'))).rejects.toThrow(/accounts\.0\.drill\.schedule.*not a cron expression|not a cron expression/);
  });

  it('nextDrillAt evaluates in UTC, strictly after the given time', () => {
    const monday3 = new Date('2030-01-07T03:00:00.000Z');
    expect(nextDrillAt({ schedule: '0 3 * * 1', maxAgeMs: 1 }, monday3)?.toISOString()).toBe('2030-01-14T03:00:00.000Z');
  });
});
