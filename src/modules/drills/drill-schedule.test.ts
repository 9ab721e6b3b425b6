/**
 * Scheduled drills on the test bed (issue 10): the catalog's `drill: {schedule, maxAge}` is a
 * durable job written at apply, fired by the scheduler on the fake clock, and scheduled again
 * after each run.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
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
