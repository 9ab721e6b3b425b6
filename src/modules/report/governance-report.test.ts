/** The governance report's figures for a few closed cases on the fake clock of the test bed. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import type { Grant } from '../../domain/index.js';
import { certify } from '../grants/certify.js';
import { endGrant } from '../grants/end-grant.js';
import { invoke } from '../grants/invoke.js';
import { reveal } from '../grants/reveal.js';
import { durationStats } from './governance-figures.js';
import { governanceReport, type GovernanceReport } from './governance-report.js';
import { runDrill } from '../drills/run-drill.js';
import { scanDriftNow } from '../drift/drift-scan.js';

const minutes = (n: number) => n * 60_000;
const answers = { necessary: true, scoped: true, removed: true, note: 'restored the primary' };

describe('governanceReport', () => {
  let bed: TestBed;
  let report: GovernanceReport;
  let slow: Grant;
  beforeAll(async () => {
    bed = await createTestBed();
    await bed.apply(bedCatalog);
    bed.clock.advance(2_000);
    await bed.runDue();
    const ask = { condition: 'outage', reason: 'db down', incident: 'INC-1', ttl: '15m' };

    // A: pre-staged, revoked at its TTL, certified two hours after it awaited certification.
    const a = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-breakglass' });
    bed.clock.set(a.expiresAt);
    await bed.runDue();
    bed.clock.advance(minutes(120));
    await certify(bed.ctx, bed.actors.bob, a.id, answers);

    // B: pre-staged, target down at expiry: the privilege outlives the case by five minutes; never certified.
    slow = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-breakglass', incident: 'INC-2' });
    bed.target.setDown(true);
    bed.clock.set(slow.expiresAt);
    await bed.runDue();
    bed.clock.advance(minutes(5));
    bed.target.setDown(false);
    await bed.runDue();

    // C: ephemeral, revealed and ended 30 s later, certified as not necessary (two misuse signals).
    const c = await invoke(bed.ctx, bed.actors.alice, { ...ask, account: 'db-ephemeral', reason: '<script>alert(1)</script>', incident: 'INC-3' });
    await reveal(bed.ctx, bed.actors.alice, c.id);
    bed.clock.advance(30_000);
    await endGrant(bed.ctx, bed.actors.alice, c.id);
    await bed.runDue();
    await certify(bed.ctx, bed.actors.bob, c.id, { ...answers, necessary: false });

    bed.clock.advance(8 * 86_400_000);
    report = await governanceReport(bed.ctx, bed.actors.bob, { since: new Date('2029-12-01T00:00:00Z') });
  });
  afterAll(async () => {
    await bed.close();
  });

  it('counts the cases per account, requester and condition', () => {
    expect(report.figures.cases).toBe(3);
    expect(report.figures.byCondition).toEqual({ outage: 3 });
    const prestaged = report.figures.accounts.find((row) => row.account === 'db-breakglass')!;
    expect(prestaged).toMatchObject({ cases: 2, requesters: { alice: 2 }, conditions: { outage: 2 }, rotationsSinceLastUse: 1, overdue: 1 });
    expect(report.figures.accounts.find((row) => row.account === 'db-ephemeral')).toMatchObject({ cases: 1, rotationsSinceLastUse: null, misuseSuspected: 1 });
  });

  it('measures the privilege valid after end: percentiles and the share above 60 s', async () => {
    const revokedB = (await bed.store.transaction((tx) => tx.grants.findById(slow.id)))!.revokedAt!;
    const lateMs = revokedB.getTime() - slow.expiresAt.getTime();
    expect(lateMs).toBeGreaterThanOrEqual(minutes(5));
    expect(report.figures.privilegeValidAfterEnd).toMatchObject({ count: 3, above60s: 1, shareAbove60s: 1 / 3, p50: 0, p99: lateMs / 1000, max: lateMs / 1000 });
    expect(report.figures.timeToRevoke).toMatchObject({ count: 3, max: lateMs / 1000 });
    expect(report.figures.timeToAccess).toEqual({ count: 3, p50: 0, p99: 0, max: 0 });
  });

  it('reports certification outcomes, latency, overdue and misuse-suspected cases', () => {
    expect(report.figures.certification).toMatchObject({ certified: 2, awaiting: 1, necessary: 1, scoped: 2, removed: 2 });
    expect(report.figures.certification.latency).toEqual({ count: 2, p50: 0, p99: 7200, max: 7200 });
    expect(report.figures.overdue).toEqual([expect.objectContaining({ id: slow.id, incident: 'INC-2', ageDays: 8 })]);
    expect(report.figures.misuseSuspected).toEqual([
      expect.objectContaining({ incident: 'INC-3', signals: ['certified-unnecessary', 'revealed-then-ended-within-a-minute'] }),
    ]);
  });

  it('states the audit chain head it was computed at; drill history and drift findings are sections of their own', async () => {
    const last = (await bed.auditEvents()).at(-1)!;
    expect(report.auditHead).toEqual({ seq: last.seq, hash: last.hash });
    expect(report.drills).toEqual({ configured: true, rows: [] });
    expect(report.drift).toEqual({ configured: true, rows: [] });
    expect(report.compliance.map((row) => row.control)).toEqual(expect.arrayContaining(['NHI-03', 'PR.AA', 'AC-2(2)', 'AC-2(3)', 'AC-6', 'AU-9', 'AU-10', 'CC6.1', 'CC6.2', 'CC6.3', 'A.5.15', 'A.5.18', 'A.8.2', 'A.8.15']));
  });

  it('a drill is in the drill history, never in the usage figures; a drift finding is listed while open', async () => {
    const drill = await runDrill(bed.ctx, bed.actors.admin, 'db-breakglass');
    expect(drill.result).toBe('passed');
    bed.target.plant('bg_stranger', 'x'); // not a catalog account: no finding
    (await bed.ctx.connectors({ name: 'db', type: 'exec', settings: {}, adminSecret: undefined }).prestaged!.enable('bg_admin', new Date(bed.clock.now().getTime() + 3_600_000)));
    await scanDriftNow(bed.ctx, bed.actors.admin);
    const after = await governanceReport(bed.ctx, bed.actors.bob, { since: new Date(0) });
    expect(after.figures.cases).toBe(report.figures.cases);
    expect(after.drills).toMatchObject({ configured: true, rows: [{ account: 'db-breakglass', result: 'passed' }] });
    expect(after.drift).toMatchObject({ configured: true, rows: [{ account: 'db-breakglass', kind: 'enabled-outside-case', resolved: 'open' }] });
    expect(after.drillStatus).toMatchObject({ configured: true, rows: expect.arrayContaining([{ account: 'db-breakglass', schedule: '', lastPassed: expect.any(String), status: 'not scheduled' }]) });
  });

  it('drill status: an account with a schedule is never drilled, then current, then overdue past its maxAge', async () => {
    await bed.apply(bedCatalog.replace('mode: ephemeral, policy: p0 }', 'mode: ephemeral, policy: p0, drill: { schedule: "0 3 * * 1", maxAge: 35d } }'));
    const status = async () => {
      const section = (await governanceReport(bed.ctx, bed.actors.bob, { since: new Date(0) })).drillStatus;
      return section.configured ? section.rows.find((row) => row['account'] === 'db-ephemeral')?.['status'] : undefined;
    };
    expect(await status()).toBe('never drilled');
    expect((await runDrill(bed.ctx, bed.actors.admin, 'db-ephemeral')).result).toBe('passed');
    expect(await status()).toBe('current');
    bed.clock.advance(36 * 86_400_000);
    expect(await status()).toBe('overdue');
  });

  it('leaves out cases created before `since`', async () => {
    const later = await governanceReport(bed.ctx, bed.actors.bob, { since: bed.clock.now() });
    expect(later.figures.cases).toBe(0);
    expect(later.figures.privilegeValidAfterEnd.shareAbove60s).toBeNull();
  });

  it('percentiles are nearest-rank', () => {
    expect(durationStats([])).toEqual({ count: 0, p50: null, p99: null, max: null });
    expect(durationStats(Array.from({ length: 100 }, (_, i) => (i + 1) * 1000))).toEqual({ count: 100, p50: 50, p99: 99, max: 100 });
  });
});
