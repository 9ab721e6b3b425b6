import type { RevocationJournal } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import { ephemeralOps, prestagedOps, withConnector } from '../targets.js';
import type { ExpiryWatch, WatchedGrant } from './expiry-watch.js';

export interface OfflineRevoker {
  /**
   * One round: while the store cannot be used, disables every watched credential past its
   * expiry on its target and journals it; once the store is usable, writes the journal onto the
   * audit chain, in order. The server calls it about twice a second; tests call it by hand.
   */
  tick(): Promise<void>;
  /**
   * Writes what the journal holds onto the chain now (serialized with `tick`'s own flush, so no
   * record is appended twice). The revocation job calls it first, so a credential disabled
   * without the store has its `grant.offline-disabled` on the chain before the normal path's
   * `grant.revocation-verified`, whichever of the two timers runs first after an outage.
   */
  flushJournal(): Promise<void>;
}

/**
 * Revocation does not wait for bookkeeping. The scheduler revokes through the store (a job, a
 * state change, its audit event); when the store cannot be written, no job can be claimed and
 * an expired credential would keep working. This path disables it on the target anyway —
 * disabling is always safe — and keeps the evidence in the revocation journal (fsync'd, its
 * space reserved, outside the store) until the chain can take it. The normal path runs when
 * the store is back: its disable is idempotent, and it verifies and records the revocation.
 */
export function createOfflineRevoker(deps: {
  readonly ctx: ModuleContext;
  readonly watch: ExpiryWatch;
  readonly journal: RevocationJournal;
  /** Can the store be written now? (The store health monitor.) */
  readonly storeUsable: () => boolean;
}): OfflineRevoker {
  const { ctx, watch, journal } = deps;
  /** Disabled in this outage; forgotten when the store is back. */
  const disabled = new Set<string>();
  let wasUsable = true;

  async function disable(grant: WatchedGrant): Promise<void> {
    await withConnector(ctx, grant.target, async (connector) => {
      if (grant.mode === 'prestaged') await prestagedOps(connector, grant.target).disable(grant.principal);
      else await ephemeralOps(connector, grant.target).revoke({ grantId: grant.grantId, spec: grant.spec });
    });
    const record = { grantId: grant.grantId, at: ctx.clock.now().toISOString(), target: grant.target.name, principal: grant.principal, mode: grant.mode };
    disabled.add(grant.grantId);
    try {
      journal.append(record);
    } catch (error) {
      // The credential is disabled all the same; the log is the only evidence left.
      ctx.log.error({ ...record, err: error instanceof Error ? error.message : 'unknown' }, 'credential disabled without the store, and the revocation journal could not keep it');
      return;
    }
    ctx.log.warn(record, 'credential disabled on its target while the store cannot be written; journaled for the audit chain');
  }

  /** The journal onto the chain, oldest first; a record leaves the journal once its event commits. */
  async function flushNow(): Promise<void> {
    for (const record of journal.records()) {
      await ctx.store.transaction((tx) =>
        ctx.audit.append(tx, { actor: 'system', action: 'grant.offline-disabled', subject: record.grantId, details: { ...record } }),
      );
      journal.drop(1);
    }
  }

  // One flush at a time: two would both read the first record before either dropped it.
  let flushing: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => (flushing = flushing.then(flushNow, flushNow));

  return {
    flushJournal: flush,
    async tick() {
      if (deps.storeUsable()) {
        if (!wasUsable) {
          disabled.clear();
          // Back from an outage: what changed meanwhile is in the store, not in the watch.
          await watch.load(ctx.store);
        }
        wasUsable = true;
        await flush();
        return;
      }
      wasUsable = false;
      for (const grant of watch.due(ctx.clock.now())) {
        if (disabled.has(grant.grantId)) continue;
        try {
          await disable(grant);
        } catch (error) {
          ctx.log.warn({ grant: grant.grantId, err: error instanceof Error ? error.message : 'unknown' }, 'could not disable an expired credential without the store; trying again');
        }
      }
    },
  };
}
