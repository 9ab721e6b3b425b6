import type { Grant, GrantId } from '../../domain/index.js';
import type { ModuleContext } from '../context.js';
import type { Vault } from '../vault/vault.js';
import { routeAlert } from './alert-escalation.js';
import { grantPayload, type AlertSettings } from './alert-payload.js';
import { defaultWatchThresholds, dueAlerts, watchedStates, type DueAlert, type WatchThresholds } from './alert-watch-rules.js';

export interface AlertWatch {
  /** Raises what the clock makes due now; returns how many alerts it raised. */
  tick(): Promise<number>;
}

/**
 * The time-driven alerts (issue 9, point 2): `grant.expiring`, `grant.revocation-overdue`,
 * `grant.rotation-failed`, `grant.certification-overdue`. No audit event raises them, so the
 * watch asks the clock: each tick lists the grants in a watched state, and for each occurrence
 * that is due (dueAlerts, pure) writes, in one transaction, its mark (`tx.alertMarks`, unique on
 * grant, event and occurrence) and its outbox rows. Only the transaction that wrote the mark
 * writes the rows: exactly once across restarts and instances. The payload id is
 * `<event>-<grant>-<occurrence>`, so a receiver de-duplicates too.
 */
export function createAlertWatch(
  ctx: Pick<ModuleContext, 'store' | 'clock'> & { readonly vault?: Vault },
  options: { readonly settings: AlertSettings; readonly thresholds?: Partial<WatchThresholds> },
): AlertWatch {
  // With the vault, alerts of routes with `ackWithin` carry signed acknowledgement links.
  const links = ctx.vault === undefined ? undefined : { vault: ctx.vault, settings: options.settings };
  const thresholds: WatchThresholds = { ...defaultWatchThresholds, ...options.thresholds };
  // Occurrences this watch knows are marked (by it or a peer): not asked about again while their grant is watched.
  let settled = new Set<string>();
  const keyOf = (grantId: GrantId, due: DueAlert) => `${due.event}-${grantId}-${due.occurrence}`;

  /** One occurrence, in its own transaction: re-read, mark, route, write. */
  async function raise(grantId: GrantId, event: DueAlert['event']): Promise<'raised' | 'settled' | 'gone'> {
    return ctx.store.transaction(async (tx) => {
      const routes = await tx.alerts.listRoutes();
      // No route, no alert, and no mark: a route added later still hears of a condition that lasts.
      if (routes.length === 0) return 'gone';
      const grant = await tx.grants.findById(grantId);
      const now = ctx.clock.now();
      const due = grant === undefined ? undefined : dueAlerts(grant, now, thresholds).find((d) => d.event === event);
      if (due === undefined) return 'gone'; // the grant moved on since the list
      // The chain head's lock orders outbox writers (as in an audit append): rows keep their order per channel.
      await tx.audit.lockHead();
      if (!(await tx.alertMarks.mark(grantId, event, due.occurrence, now))) return 'settled';
      const payload = await grantPayload(tx, event, grantId, { id: keyOf(grantId, due), at: now, details: { occurrence: due.occurrence, ...due.details } }, options.settings);
      await routeAlert(tx, payload, routes, now, links);
      return 'raised';
    });
  }

  return {
    async tick() {
      const now = ctx.clock.now();
      const grants: Grant[] = await ctx.store.transaction(async (tx) => ((await tx.alerts.listRoutes()).length === 0 ? [] : tx.grants.list({ states: watchedStates })));
      const current = new Set<string>();
      let raised = 0;
      for (const grant of grants) {
        for (const due of dueAlerts(grant, now, thresholds)) {
          const key = keyOf(grant.id, due);
          current.add(key);
          if (settled.has(key)) continue;
          const outcome = await raise(grant.id, due.event);
          if (outcome === 'gone') continue;
          if (outcome === 'raised') raised += 1;
          settled.add(key);
        }
      }
      // Forget occurrences no longer due (the next repetition has its own key).
      settled = new Set([...settled].filter((key) => current.has(key)));
      return raised;
    },
  };
}
