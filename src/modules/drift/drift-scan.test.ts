/**
 * Drift detection on the test bed (issue 10, point 2): the real scan, store and audit chain, an
 * in-memory target changed "by hand" behind Breakglass's back, a fake clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, bedVaultAccount, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import { ephemeralPrincipal } from '../../ports/index.js';
import { listAlerts } from '../alerts/alerts-admin.js';
import { runCeremony } from '../custodians/ceremony.js';
import { createMetrics } from '../metrics/metrics-registry.js';
import { endGrant } from '../grants/end-grant.js';
import { invoke } from '../grants/invoke.js';
import { acknowledgeDrift, listDriftFindings } from './drift-findings.js';
import { runDrill } from '../drills/run-drill.js';
import { scanDriftNow } from './drift-scan.js';

const offlineVault = bedVaultAccount.replace('threshold: 2 }', 'threshold: 2, offlineAccess: true }');

describe('drift detection', () => {
  let bed: TestBed;
  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(bedCatalog);
    bed.clock.advance(2_000);
    await bed.runDue();
  });
  afterEach(async () => {
    await bed.close();
  });

  /** A scan that could inspect every account (an unreachable target is tested on its own). */
  const scan = async () => {
    const result = await scanDriftNow(bed.ctx, bed.actors.admin);
    expect(result.errors).toEqual([]);
    return result;
  };
  /** What a DBA does by hand: the staged login enabled again, its secret kept. */
  const enableByHand = () => bed.target.plant('bg_admin', bed.target.account('bg_admin')!.secret, { canLogin: true });
  const driftEvents = async () => (await bed.auditEvents()).filter((e) => e.action.startsWith('drift.'));

  it('a clean target has no findings', async () => {
    expect((await scan()).findings).toEqual([]);
    expect(await driftEvents()).toEqual([]);
  });

  it('enabled-outside-case: found, seen again (last seen moves), resolved once fixed, each audited', async () => {
    enableByHand();
    const first = await scan();
    expect(first.findings).toMatchObject([{ account: 'db-breakglass', kind: 'enabled-outside-case', subject: 'bg_admin' }]);
    const found = first.findings[0]!;

    bed.clock.advance(60_000);
    const again = await scan();
    expect(again.findings).toHaveLength(1);
    expect(again.findings[0]).toMatchObject({ id: found.id, firstSeen: found.firstSeen, lastSeen: bed.clock.now() });

    bed.target.plant('bg_admin', bed.target.account('bg_admin')!.secret, { canLogin: false });
    bed.clock.advance(60_000);
    expect((await scan()).findings).toEqual([]);
    const events = await driftEvents();
    expect(events.map((e) => e.action)).toEqual(['drift.detected', 'drift.resolved']);
    expect(events[1]?.details).toMatchObject({ finding: found.id, firstSeen: found.firstSeen.toISOString(), lastSeen: new Date(found.firstSeen.getTime() + 60_000).toISOString() });
    expect((await listDriftFindings(bed.ctx, bed.actors.admin))[0]).toMatchObject({ id: found.id, resolvedAt: bed.clock.now() });
    expect((await bed.verify()).ok).toBe(true);
  });

  it('a live case explains an enabled login: no finding while a grant holds the account', async () => {
    await invoke(bed.ctx, bed.actors.alice, { account: 'db-breakglass', condition: 'outage', reason: 'down', incident: 'INC-1', ttl: '15m' });
    expect(bed.target.account('bg_admin')?.canLogin).toBe(true);
    expect((await scan()).findings).toEqual([]);
  });

  it('secret-changed: the stored secret no longer verifies', async () => {
    bed.target.plant('bg_admin', 'set-by-hand', { canLogin: false });
    const { findings } = await scan();
    expect(findings).toMatchObject([{ kind: 'secret-changed', account: 'db-breakglass' }]);
    expect(JSON.stringify(await driftEvents())).not.toContain('set-by-hand');
  });

  it('sessions-outside-case: a live session with no case', async () => {
    enableByHand();
    expect(bed.target.login('bg_admin', bed.target.account('bg_admin')!.secret)).not.toBe('rejected');
    const kinds = (await scan()).findings.map((f) => f.kind).sort();
    expect(kinds).toEqual(['enabled-outside-case', 'sessions-outside-case']);
  });

  it('autoRemediate: the scan disables the login, ends its sessions, verifies, and resolves the findings', async () => {
    await bed.apply(bedCatalog.replace('user: bg_admin, policy: p0', 'user: bg_admin, policy: p0, autoRemediate: true'));
    enableByHand();
    const session = bed.target.login('bg_admin', bed.target.account('bg_admin')!.secret);
    expect(session).not.toBe('rejected');
    expect((await scan()).findings).toEqual([]);
    expect(bed.target.account('bg_admin')).toMatchObject({ canLogin: false, sessions: 0 });
    expect((await driftEvents()).map((e) => e.action)).toEqual(['drift.detected', 'drift.remediated', 'drift.resolved', 'drift.detected', 'drift.remediated', 'drift.resolved']);
  });

  it('autoRemediate never cuts off a case invoked while the scan was disabling: the login is enabled again, no finding', async () => {
    await bed.apply(bedCatalog.replace('user: bg_admin, policy: p0', 'user: bg_admin, policy: p0, autoRemediate: true'));
    enableByHand();
    let release!: () => void;
    const held = bed.target.delay('disable', new Promise<void>((resolve) => (release = resolve)));
    const scanning = scan();
    await held.started;
    const grant = await invoke(bed.ctx, bed.actors.alice, { account: 'db-breakglass', condition: 'outage', reason: 'down', incident: 'INC-3', ttl: '15m' });
    expect(grant.state).toBe('active');
    release();
    expect((await scanning).findings).toEqual([]);
    expect(bed.target.account('bg_admin')).toMatchObject({ canLogin: true, validUntil: grant.expiresAt });
    expect(bed.logs.some((l) => l.message.includes('met a new grant'))).toBe(true);
  });

  it('a dual-control account with offline access logs in between grants on purpose: not a finding', async () => {
    expect(offlineVault).toContain('offlineAccess: true');
    await bed.apply(`${bedCatalog}${offlineVault}`);
    await runCeremony(bed.ctx, bed.actors.admin, 'db-vault');
    bed.clock.advance(2_000);
    await bed.runDue();
    expect(bed.target.account('bg_vault')?.canLogin).toBe(true);
    expect((await scan()).findings).toEqual([]);
  });

  it('an account not staged yet (a login someone else owns, not adopted) is neither reported nor touched, autoRemediate or not', async () => {
    const other = await createTestBed();
    try {
      other.target.plant('bg_admin', 'someone-elses-password');
      const applied = await other.apply(bedCatalog.replace('user: bg_admin, policy: p0', 'user: bg_admin, policy: p0, autoRemediate: true'));
      expect(applied.staging.find((s) => s.account === 'db-breakglass')?.staging).toBe('pending');
      expect((await scanDriftNow(other.ctx, other.actors.admin)).findings).toEqual([]);
      expect(other.target.account('bg_admin')).toMatchObject({ secret: 'someone-elses-password', canLogin: true });
    } finally {
      await other.close();
    }
  });

  it('ephemeral-leftover: an ended case whose credential is still on the target; autoRemediate drops it', async () => {
    const grant = await invoke(bed.ctx, bed.actors.alice, { account: 'db-ephemeral', condition: 'outage', reason: 'down', incident: 'INC-2', ttl: '15m' });
    await endGrant(bed.ctx, bed.actors.alice, grant.id);
    await bed.runDue();
    expect(bed.target.issued(grant.id)).toBeUndefined();
    expect((await scan()).findings).toEqual([]);

    bed.target.plant(ephemeralPrincipal(grant.id), 'left-behind');
    expect((await scan()).findings).toMatchObject([{ account: 'db-ephemeral', kind: 'ephemeral-leftover', subject: grant.id }]);

    await bed.apply(bedCatalog.replace('mode: ephemeral, policy: p0', 'mode: ephemeral, policy: p0, autoRemediate: true'));
    expect((await scan()).findings).toEqual([]);
    expect(bed.target.account(ephemeralPrincipal(grant.id))).toBeUndefined();
    expect((await driftEvents()).map((e) => e.action)).toEqual(['drift.detected', 'drift.remediated', 'drift.resolved']);
  });

  it('drift.detected is an alert a route can send (written with the finding, in its transaction)', async () => {
    await bed.apply(`${bedCatalog}channels:
  - { name: secops-hook, type: webhook, url: "http://127.0.0.1:9/hook", secret: hook-secret-value }
routes:
  - events: ["drift.detected"]
    channels: [secops-hook]
`);
    enableByHand();
    const [found] = (await scan()).findings;
    const alerts = await listAlerts(bed.ctx, bed.actors.admin);
    expect(alerts).toMatchObject([{ event: 'drift.detected', channel: 'secops-hook', state: 'pending' }]);
    const sent = await bed.store.transaction((tx) => tx.outbox.find(alerts[0]!.id));
    expect(sent?.payload).toMatchObject({ severity: 'critical', details: { finding: found!.id, kind: 'enabled-outside-case' } });
  });

  it('the findings of an account retired from the catalog are resolved', async () => {
    enableByHand();
    expect((await scan()).findings).toHaveLength(1);
    await bed.apply(bedCatalog.replace(/ {2}- \{ name: db-breakglass[^\n]*\n/, ''));
    expect((await scan()).findings).toEqual([]);
    expect((await driftEvents()).at(-1)).toMatchObject({ action: 'drift.resolved', details: { why: 'account retired from the catalog' } });
  });

  it('sets breakglass_drift_findings{kind} to what the scan left open', async () => {
    const metrics = createMetrics();
    const gauge = async (kind: string) => (await metrics.driftFindings.get()).values.find((v) => v.labels['kind'] === kind)?.value;
    enableByHand();
    await scanDriftNow({ ...bed.ctx, metrics }, bed.actors.admin);
    expect(await gauge('enabled-outside-case')).toBe(1);
    expect(await gauge('secret-changed')).toBe(0);
    bed.target.plant('bg_admin', bed.target.account('bg_admin')!.secret, { canLogin: false });
    await scanDriftNow({ ...bed.ctx, metrics }, bed.actors.admin);
    expect(await gauge('enabled-outside-case')).toBe(0);
  });

  it('an unreachable target leaves its findings open and says which account it could not inspect', async () => {
    enableByHand();
    const [found] = (await scan()).findings;
    bed.target.setDown(true);
    const result = await scanDriftNow(bed.ctx, bed.actors.admin);
    expect(result.findings.map((f) => f.id)).toEqual([found!.id]);
    expect(result.errors.map((e) => e.account)).toContain('db-breakglass');
  });

  it('an admin acknowledges a finding with a reason (audited); an auditor may list but not acknowledge', async () => {
    enableByHand();
    const [found] = (await scan()).findings;
    const acked = await acknowledgeDrift(bed.ctx, bed.actors.admin, found!.id, 'DBA test window, CHG-12');
    expect(acked).toMatchObject({ ackedBy: 'admin', ackedReason: 'DBA test window, CHG-12' });
    expect((await driftEvents()).at(-1)).toMatchObject({ action: 'drift.acknowledged', actor: 'admin', details: { finding: found!.id, reason: 'DBA test window, CHG-12' } });
    await expect(acknowledgeDrift(bed.ctx, bed.actors.bob, found!.id, 'x')).rejects.toMatchObject({ code: 'forbidden' });
    await expect(scanDriftNow(bed.ctx, bed.actors.alice)).rejects.toMatchObject({ code: 'forbidden' });
  });

  describe('drill-overdue', () => {
    const day = 86_400_000;
    const drilled = bedCatalog.replace('user: bg_admin, policy: p0 }', 'user: bg_admin, policy: p0, drill: { schedule: "0 3 * * 1", maxAge: 35d } }');
    const overdue = async () => (await scan()).findings.filter((f) => f.kind === 'drill-overdue');

    it('never drilled: not overdue until maxAge after the schedule was set (a re-apply does not restart that clock); a passed drill resolves it', async () => {
      await bed.apply(drilled);
      expect(await overdue()).toEqual([]);
      bed.clock.advance(20 * day);
      await bed.apply(drilled); // unchanged schedule: drillSince stays
      expect(await overdue()).toEqual([]);
      bed.clock.advance(16 * day);
      const found = await overdue();
      expect(found).toMatchObject([{ account: 'db-breakglass', kind: 'drill-overdue', subject: 'drill', detail: expect.stringMatching(/no drill of "db-breakglass" has passed since its schedule was set .*maxAge 35d/) }]);
      expect((await driftEvents()).map((e) => e.action)).toEqual(['drift.detected']);

      expect((await runDrill(bed.ctx, bed.actors.admin, 'db-breakglass')).result).toBe('passed');
      expect(await overdue()).toEqual([]);
      expect((await driftEvents()).at(-1)).toMatchObject({ action: 'drift.resolved', details: { kind: 'drill-overdue' } });
    });

    it('a last passed drill older than maxAge is overdue and says when it passed; a failed drill does not count', async () => {
      await bed.apply(drilled);
      expect((await runDrill(bed.ctx, bed.actors.admin, 'db-breakglass')).result).toBe('passed');
      const passedAt = bed.clock.now().toISOString();
      bed.clock.advance(30 * day);
      // The scheduled drill due now fails: the secret was changed by hand.
      bed.target.plant('bg_admin', 'changed-by-hand', { canLogin: false });
      await bed.runDue();
      expect((await bed.auditEvents()).filter((e) => e.action.startsWith('drill.')).map((e) => e.action)).toEqual(['drill.passed', 'drill.failed']);
      bed.clock.advance(6 * day);
      expect(await overdue()).toMatchObject([{ detail: expect.stringContaining(`the last drill of "db-breakglass" that passed was on ${passedAt}, 36.0 days ago (maxAge 35d)`) }]);
    });

    it('an account without a drill schedule is never drill-overdue', async () => {
      bed.clock.advance(400 * day);
      expect(await overdue()).toEqual([]);
    });
  });
});
