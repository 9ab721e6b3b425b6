/**
 * Drills on the test bed (issue 10): the real path on the memory target, the evidence in the
 * audit chain, and a secret changed outside Breakglass caught and named.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, bedVaultAccount, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import { invoke } from '../grants/invoke.js';
import { showGrant } from '../grants/show-grant.js';
import { runDrill, type DrillStep } from './run-drill.js';

describe('runDrill', () => {
  let bed: TestBed;
  beforeEach(async () => {
    bed = await createTestBed();
    await bed.apply(`${bedCatalog}${bedVaultAccount}`);
    await bed.runDue();
  });
  afterEach(async () => {
    await bed.close();
  });

  it('a drill passes on the memory target: every step, evidence in the chain, the grant marked drill and certified', async () => {
    const before = bed.target.account('bg_admin')!.secret;
    const seen: DrillStep[] = [];
    const report = await runDrill(bed.ctx, bed.actors.admin, 'db-breakglass', { onStep: (s) => seen.push(s) });
    expect(report.result).toBe('passed');
    expect(report.steps.map((s) => [s.name, s.result])).toEqual([
      ['invoke', 'passed'],
      ['login', 'passed'],
      ['expire', 'passed'],
      ['verify-revoked', 'passed'],
      ['rotate', 'passed'],
      ['verify-rotated', 'passed'],
    ]);
    expect(seen).toEqual(report.steps);
    expect(bed.target.calls('tryLogin')).toBe(2);
    expect(bed.target.account('bg_admin')).toMatchObject({ canLogin: false, sessions: 0 });
    expect(bed.target.account('bg_admin')!.secret).not.toBe(before);
    const grant = await showGrant(bed.ctx, bed.actors.admin, report.grantId!);
    expect(grant).toMatchObject({ state: 'closed', drill: true, condition: 'drill' });
    const events = await bed.auditEvents();
    const passed = events.find((e) => e.action === 'drill.passed')!;
    expect(passed.details).toMatchObject({ account: 'db-breakglass', steps: report.steps });
    expect(events.map((e) => e.action)).toContain('grant.drill-certified');
    expect(events.map((e) => e.action)).not.toContain('drill.failed');
    // The jobs the path scheduled find nothing left to do.
    bed.clock.advance(60 * 60_000);
    await bed.runDue();
    expect((await showGrant(bed.ctx, bed.actors.admin, report.grantId!)).state).toBe('closed');
    expect(await bed.verify()).toMatchObject({ ok: true });
  });

  it('a secret changed outside Breakglass fails the drill and says so; the normal rotation sets it right', async () => {
    bed.target.plant('bg_admin', 'changed-by-hand-1234567890', { canLogin: false });
    const report = await runDrill(bed.ctx, bed.actors.admin, 'db-breakglass');
    expect(report.result).toBe('failed');
    const login = report.steps.find((s) => s.name === 'login')!;
    expect(login).toMatchObject({ result: 'failed' });
    expect(login.detail).toMatch(/changed outside Breakglass/);
    expect(report.steps.slice(2).every((s) => s.result === 'skipped')).toBe(true);
    const failed = (await bed.auditEvents()).find((e) => e.action === 'drill.failed')!;
    expect(failed.details).toMatchObject({ account: 'db-breakglass', failedStep: 'login', failure: expect.stringMatching(/changed outside Breakglass/) });
    // The grant was ended: revocation and rotation follow as for any case, and a person certifies it.
    await bed.runDue();
    const grant = await showGrant(bed.ctx, bed.actors.admin, report.grantId!);
    expect(grant).toMatchObject({ state: 'awaiting-certification', drill: true });
    expect(bed.target.account('bg_admin')!.canLogin).toBe(false);
    expect(bed.logs.map((l) => JSON.stringify(l))).not.toContainEqual(expect.stringContaining('changed-by-hand'));
  });

  it('a failed drill is an alert (drill.failed, critical) wherever a route sends it', async () => {
    await bed.apply(`${bedCatalog}${bedVaultAccount}
channels:
  - { name: secops-hook, type: webhook, url: "http://127.0.0.1:9/hook", secret: hook-secret-value }
routes:
  - { events: ["drill.failed"], channels: [secops-hook] }
`);
    bed.target.plant('bg_admin', 'changed-by-hand-0987654321', { canLogin: false });
    expect((await runDrill(bed.ctx, bed.actors.admin, 'db-breakglass')).result).toBe('failed');
    const alerts = (await bed.store.transaction((tx) => tx.outbox.list({}))).map((m) => m.payload);
    expect(alerts).toEqual([expect.objectContaining({ event: 'drill.failed', severity: 'critical', details: expect.objectContaining({ account: 'db-breakglass', failedStep: 'login' }) })]);
  });

  it('an ephemeral account drills too: issued, logs in, destroyed and rejected; nothing to rotate', async () => {
    const report = await runDrill(bed.ctx, bed.actors.admin, 'db-ephemeral');
    expect(report.steps.map((s) => [s.name, s.result])).toEqual([
      ['invoke', 'passed'],
      ['login', 'passed'],
      ['expire', 'passed'],
      ['verify-revoked', 'passed'],
      ['rotate', 'skipped'],
      ['verify-rotated', 'skipped'],
    ]);
    expect(report.result).toBe('passed');
    expect(bed.target.issued(report.grantId!)).toBeUndefined();
    expect(await showGrant(bed.ctx, bed.actors.admin, report.grantId!)).toMatchObject({ state: 'closed', drill: true });
  });

  it('a drill does not take an account a case holds', async () => {
    await runDrill(bed.ctx, bed.actors.admin, 'db-breakglass');
    await invoke(bed.ctx, bed.actors.alice, { account: 'db-breakglass', condition: 'outage', reason: 'r', incident: 'INC-1', ttl: '15m' });
    await expect(runDrill(bed.ctx, bed.actors.admin, 'db-breakglass')).resolves.toMatchObject({ result: 'failed', steps: [{ name: 'invoke', result: 'failed' }, ...Array(5).fill(expect.objectContaining({ result: 'skipped' }))] });
  });
});

describe('runDrill on a connector without tryLogin', () => {
  it('falls back to verify for the login, and to the target\'s inspection after the end: the drill still passes', async () => {
    const bed = await createTestBed();
    try {
      const connectors = bed.ctx.connectors;
      const ctx = {
        ...bed.ctx,
        connectors: (target: Parameters<typeof connectors>[0]) => {
          const connector = connectors(target);
          const prestaged = { ...connector.prestaged! };
          delete prestaged.tryLogin;
          return { ...connector, prestaged, close: () => connector.close() };
        },
      };
      await bed.apply(bedCatalog);
      await bed.runDue();
      const report = await runDrill(ctx, bed.actors.admin, 'db-breakglass');
      expect(report.result).toBe('passed');
      expect(bed.target.calls('tryLogin')).toBe(0);
    } finally {
      await bed.close();
    }
  });
});
