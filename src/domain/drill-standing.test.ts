import { describe, expect, it } from 'vitest';
import { drillStanding } from './drill-standing.js';

const day = 86_400_000;
const now = new Date('2026-11-29T00:00:00Z');
const scheduled = { name: 'db', drill: { schedule: '0 3 * * 1', maxAgeMs: 35 * day }, drillSince: new Date(now.getTime() - 40 * day) };

describe('drillStanding (one rule for the report, the drift scan and its alert)', () => {
  it('not scheduled is never overdue', () => {
    expect(drillStanding({ name: 'db' }, undefined, now)).toMatchObject({ status: 'not scheduled', overdue: false });
  });
  it('current within maxAge, overdue past it (a drill exactly maxAge ago is still current)', () => {
    expect(drillStanding(scheduled, new Date(now.getTime() - 35 * day), now)).toMatchObject({ status: 'current', overdue: false });
    expect(drillStanding(scheduled, new Date(now.getTime() - 35 * day - 1), now)).toMatchObject({ status: 'overdue', overdue: true });
  });
  it('never drilled is overdue only maxAge after the schedule was set, or never if that is unknown', () => {
    expect(drillStanding(scheduled, undefined, now)).toMatchObject({ status: 'never drilled', overdue: true });
    expect(drillStanding({ ...scheduled, drillSince: new Date(now.getTime() - 30 * day) }, undefined, now)).toMatchObject({ status: 'never drilled', overdue: false });
    expect(drillStanding({ name: 'db', drill: scheduled.drill }, undefined, now)).toMatchObject({ status: 'never drilled', overdue: false });
  });
});
