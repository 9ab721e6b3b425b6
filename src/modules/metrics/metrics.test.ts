/**
 * The metrics on the test bed: the audit-append hook observes a whole case (time to access,
 * revocation lag, privilege valid after end, grants by account and condition) and a scrape sets
 * the store gauges from one read transaction.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bedCatalog, createTestBed, type TestBed } from '../../../test/support/test-bed.js';
import { isAppError } from '../../errors/index.js';
import { certify } from '../grants/certify.js';
import { invoke } from '../grants/invoke.js';
import { runDrill } from '../drills/run-drill.js';
import { metricsHook } from './metrics-hook.js';
import { createMetrics, type Metrics } from './metrics-registry.js';
import { metricsReaderOf, readMetrics } from './read-metrics.js';

/** The value of one sample line (`name{labels} value`) of the text format. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('metrics', () => {
  let bed: TestBed;
  let metrics: Metrics;
  beforeEach(async () => {
    bed = await createTestBed();
    metrics = createMetrics({ scrapeToken: 'scrape-token-0123456789abcdef0123456789' });
    bed.ctx.audit.onAppend(metricsHook(metrics));
    await bed.apply(bedCatalog);
    bed.clock.advance(2_000);
    await bed.runDue();
  });
  afterEach(async () => {
    await bed.close();
  });
  const scrape = async () => (await readMetrics(bed.ctx, metrics, bed.actors.admin)).text;

  it('the hook observes a closed case: revocation_lag count 1, from the expiry to the verified revocation', async () => {
    const grant = await invoke(bed.ctx, bed.actors.alice, { account: 'db-breakglass', condition: 'outage', reason: 'primary down', incident: 'INC-7', ttl: '15m' });
    let text = await scrape();
    expect(sample(text, 'breakglass_grants_active')).toBe(1);
    expect(sample(text, 'breakglass_grants_total{account="db-breakglass",condition="outage"}')).toBe(1);
    expect(sample(text, 'breakglass_time_to_access_seconds_count')).toBe(1);
    expect(sample(text, 'breakglass_revocation_lag_seconds_count')).toBe(0);

    // Expiry; the target answers 5 s after the scheduled end.
    bed.clock.advance(15 * 60_000);
    bed.clock.advance(5_000);
    await bed.runDue();
    text = await scrape();
    expect(sample(text, 'breakglass_grants_active')).toBe(0);
    expect(sample(text, 'breakglass_revocation_lag_seconds_count')).toBe(1);
    expect(sample(text, 'breakglass_revocation_lag_seconds_sum')).toBe(5);
    expect(sample(text, 'breakglass_privilege_valid_after_end_seconds_count')).toBe(1);
    expect(sample(text, 'breakglass_privilege_valid_after_end_seconds_sum')).toBe(5);
    expect(sample(text, 'breakglass_cases_uncertified')).toBe(1);

    bed.clock.advance(3_600_000);
    text = await scrape();
    expect(sample(text, 'breakglass_oldest_uncertified_case_age_seconds')).toBeGreaterThanOrEqual(3_600);
    await certify(bed.ctx, bed.actors.bob, grant.id, { necessary: true, scoped: true, removed: true, note: 'restored' });
    text = await scrape();
    expect(sample(text, 'breakglass_cases_uncertified')).toBe(0);
    expect(sample(text, 'breakglass_oldest_uncertified_case_age_seconds')).toBe(0);
    expect(sample(text, 'breakglass_revocations_overdue')).toBe(0);
    const head = (await bed.auditEvents()).at(-1)!.seq;
    expect(sample(text, 'breakglass_audit_head_seq')).toBe(head);
    expect(sample(text, 'breakglass_audit_last_checkpoint_timestamp_seconds')).toBeGreaterThan(0);
  });

  it('a revocation a target does not confirm is overdue a minute after the scheduled end', async () => {
    await invoke(bed.ctx, bed.actors.alice, { account: 'db-breakglass', condition: 'outage', reason: 'r', incident: 'INC-8', ttl: '15m' });
    bed.target.setDown(true);
    bed.clock.advance(15 * 60_000);
    await bed.runDue();
    expect(sample(await scrape(), 'breakglass_revocations_overdue')).toBe(0);
    bed.clock.advance(60_000);
    expect(sample(await scrape(), 'breakglass_revocations_overdue')).toBe(1);
    bed.target.setDown(false);
    bed.clock.advance(120_000);
    await bed.runDue();
    const text = await scrape();
    expect(sample(text, 'breakglass_revocations_overdue')).toBe(0);
    expect(sample(text, 'breakglass_revocation_lag_seconds_count')).toBe(1);
    expect(sample(text, 'breakglass_revocation_lag_seconds_sum')).toBeGreaterThanOrEqual(180);
  });

  it('the drift gauge is set by its scan; the drill gauge comes from the store (a fresh registry, as after a restart, reports it); process defaults are there', async () => {
    metrics.driftFindings.set({ kind: 'enabled-outside-case' }, 2);
    bed.clock.advance(2_000);
    await bed.runDue();
    expect(await scrape()).not.toContain('breakglass_drill_last_success_timestamp_seconds{');
    const drilledAt = bed.clock.now().getTime() / 1000;
    expect((await runDrill(bed.ctx, bed.actors.admin, 'db-breakglass')).result).toBe('passed');
    bed.clock.advance(60_000);
    const restarted = createMetrics();
    const text = (await readMetrics(bed.ctx, restarted, bed.actors.admin)).text;
    expect(sample(text, 'breakglass_drill_last_success_timestamp_seconds{account="db-breakglass"}')).toBe(drilledAt);
    expect(sample(await scrape(), 'breakglass_drift_findings{kind="enabled-outside-case"}')).toBe(2);
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('metrics.read: an admin or auditor, or the scrape token (compared in constant time); not a responder', async () => {
    const refused = await readMetrics(bed.ctx, metrics, bed.actors.alice).catch((error: unknown) => error);
    expect(isAppError(refused) && refused.code).toBe('forbidden');
    expect(await metricsReaderOf(bed.ctx, metrics, 'scrape-token-0123456789abcdef0123456789')).toBe('scrape-token');
    expect(await metricsReaderOf(bed.ctx, metrics, 'scrape-token-0123456789abcdef012345678X')).toBeUndefined();
    expect((await readMetrics(bed.ctx, metrics, 'scrape-token')).text).toContain('breakglass_grants_active');
  });
});
