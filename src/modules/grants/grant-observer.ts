import type { Grant, GrantEvent } from '../../domain/index.js';
import type { AuditEventRecord, StoreTx } from '../../ports/index.js';

/** One transition as observers see it: before and after, what caused it, and its audit record. */
export interface GrantChange {
  readonly before: Grant;
  readonly after: Grant;
  readonly event: GrantEvent;
  readonly actor: string;
  readonly audit: AuditEventRecord;
}

/**
 * Called inside the transaction of each grant transition, after its audit event; a throw rolls
 * the transition back. The alerts outbox hangs here (invariant I6: an alert is written with the
 * change it reports, or neither is).
 */
export type GrantObserver = (tx: StoreTx, change: GrantChange) => Promise<void>;
