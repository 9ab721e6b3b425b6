import type { GrantId } from '../../domain/index.js';
import type { AuditEventRecord, StoreTx } from '../../ports/index.js';
import type { AppendHook } from '../audit/audit-log.js';
import type { Metrics } from './metrics-registry.js';

/**
 * Observes the event metrics where the events happen: an audit-append hook, so no use case
 * knows about metrics and every path that records the event (HTTP, CLI, jobs, another
 * instance's scheduler) is counted by the instance that wrote it. It runs inside the append's
 * transaction, after the grant was written (applyEvent updates, then appends); it only reads.
 * A transaction rolled back after the append would leave an observation behind: counts are
 * monitoring, the audit chain is the record.
 */
export function metricsHook(metrics: Metrics): AppendHook {
  return async (tx: StoreTx, record: AuditEventRecord) => {
    switch (record.action) {
      case 'grant.requested': {
        const grant = await tx.grants.findById(record.subject as GrantId);
        if (grant === undefined) return;
        const account = await tx.catalog.findAccountById(grant.accountId);
        metrics.grantsTotal.inc({ account: account?.name ?? grant.accountId, condition: grant.condition });
        return;
      }
      case 'grant.activated': {
        const grant = await tx.grants.findById(record.subject as GrantId);
        if (grant?.activatedAt === undefined) return;
        metrics.timeToAccess.observe(seconds(grant.activatedAt.getTime() - grant.createdAt.getTime()));
        return;
      }
      case 'grant.revocation-verified': {
        const grant = await tx.grants.findById(record.subject as GrantId);
        if (grant?.revokedAt === undefined) return;
        const afterEnd = seconds(grant.revokedAt.getTime() - scheduledEnd(grant));
        metrics.revocationLag.observe(afterEnd);
        // The same measurement for now: the privilege is taken as valid until the target
        // confirmed the revocation. Drift detection will extend it (a credential found alive later).
        metrics.privilegeValidAfterEnd.observe(afterEnd);
        return;
      }
      default:
        return;
    }
  };
}

/** When the grant was due to end: its expiry, or the early end that came first. */
export function scheduledEnd(grant: { readonly expiresAt: Date; readonly endedAt: Date | undefined }): number {
  return Math.min(grant.expiresAt.getTime(), grant.endedAt?.getTime() ?? Number.POSITIVE_INFINITY);
}

/** Never negative: a revocation verified before its scheduled end took no time after it. */
const seconds = (ms: number) => Math.max(0, ms) / 1000;
