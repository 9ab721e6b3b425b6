import { constantTimeEqual, hashToken } from '../../crypto/index.js';
import { authorize, type Actor } from '../../domain/index.js';
import type { StoreReadTx } from '../../ports/index.js';
import { defaultWatchThresholds } from '../alerts/alert-watch-rules.js';
import type { ModuleContext } from '../context.js';
import { authenticate } from '../identity/identity.js';
import { scheduledEnd } from './metrics-hook.js';
import type { Metrics } from './metrics-registry.js';

/**
 * Who scrapes: a user (admin or auditor, `metrics.read`) or the holder of the separate scrape
 * token, which is no actor: it can read counts and nothing else.
 */
export type MetricsReader = Actor | 'scrape-token';

/** Rows one scrape reads per query at most: the gauges saturate there rather than the scrape growing. */
export const scrapeRowLimit = 10_000;

/**
 * The bearer token of a scrape: the scrape token (compared in constant time) or a user's token.
 * Returns undefined for neither.
 */
export async function metricsReaderOf(ctx: Pick<ModuleContext, 'store' | 'clock'>, metrics: Pick<Metrics, 'scrapeToken'>, token: string): Promise<MetricsReader | undefined> {
  if (metrics.scrapeToken !== undefined && constantTimeEqual(hashToken(token), hashToken(metrics.scrapeToken))) return 'scrape-token';
  return authenticate(ctx, token);
}

/**
 * Sets the store gauges from one read transaction and returns the registry in the Prometheus
 * text format. Not audited: a scrape reads counts every few seconds and changes nothing; a
 * user's scrape is authorized like any use case, and its refusal is an error like any other.
 * @example const text = await readMetrics(ctx, metrics, actor);
 */
export async function readMetrics(ctx: Pick<ModuleContext, 'store' | 'clock'>, metrics: Metrics, reader: MetricsReader): Promise<{ readonly contentType: string; readonly text: string }> {
  if (reader !== 'scrape-token') authorize(reader, 'metrics.read');
  const now = ctx.clock.now().getTime();
  // issue 13 (store reads): one read (one snapshot, no write lock), not a write transaction.
  const gauges = await ctx.store.read((tx) => storeGauges(tx, now));
  metrics.grantsActive.set(gauges.active);
  metrics.revocationsOverdue.set(gauges.overdue);
  metrics.casesUncertified.set(gauges.uncertified);
  metrics.oldestUncertifiedCaseAge.set(gauges.oldestUncertifiedS);
  metrics.auditHeadSeq.set(gauges.headSeq);
  metrics.auditLastCheckpoint.set(gauges.checkpointS);
  // Accounts without a passed drill (or no longer in the catalog) have no sample: absent, not 0.
  metrics.drillLastSuccess.reset();
  for (const [account, at] of gauges.drillLastPassed) metrics.drillLastSuccess.set({ account }, at / 1000);
  return { contentType: metrics.registry.contentType, text: await metrics.registry.metrics() };
}

/** The gauges the store knows, in one transaction so they agree with each other. */
async function storeGauges(tx: StoreReadTx, now: number) {
  const live = await tx.grants.list({ states: ['active', 'revoking'], limit: scrapeRowLimit });
  const waiting = await tx.grants.list({ states: ['awaiting-certification'], limit: scrapeRowLimit });
  // issue 13 (store reads): the head as committed, without the lock an append takes.
  const head = await tx.audit.head();
  const checkpoint = await tx.audit.lastCheckpoint();
  // A passed drill certifies, so closes, its own grant: the newest closed drill grant per account.
  const drillLastPassed: [string, number][] = [];
  for (const account of await tx.catalog.listAccounts()) {
    const [last] = await tx.grants.list({ accountId: account.id, states: ['closed'], drill: true, limit: 1 });
    if (last) drillLastPassed.push([account.name, last.createdAt.getTime()]);
  }
  const since = waiting.map((grant) => (grant.rotatedAt ?? grant.revokedAt ?? grant.endedAt ?? grant.expiresAt).getTime());
  return {
    active: live.filter((grant) => grant.state === 'active').length,
    // Overdue as the alert watch says it (grant.revocation-overdue): a minute past the scheduled end.
    overdue: live.filter((grant) => now - scheduledEnd(grant) >= defaultWatchThresholds.revocationOverdueMs).length,
    uncertified: waiting.length,
    oldestUncertifiedS: since.length === 0 ? 0 : Math.max(0, now - since.reduce((a, b) => Math.min(a, b))) / 1000,
    headSeq: head.seq,
    checkpointS: checkpoint === undefined ? 0 : checkpoint.at.getTime() / 1000,
    drillLastPassed,
  };
}
