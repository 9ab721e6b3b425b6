import type { Grant, GrantId } from '../../domain/index.js';
import type { StoreTx } from '../../ports/index.js';
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

  /** The thresholds for a grant: its policy may set its own expiry warning. */
  async function thresholdsFor(tx: StoreTx, grant: Grant, policies: Map<string, number | undefined>): Promise<WatchThresholds> {
    if (!policies.has(grant.accountId)) {
      const account = await tx.catalog.findAccountById(grant.accountId);
      const policy = account === undefined ? undefined : await tx.catalog.findPolicyById(account.policyId);
      policies.set(grant.accountId, policy?.expiryWarningMs);
    }
    const warning = policies.get(grant.accountId);
    return warning === undefined ? thresholds : { ...thresholds, expiryWarningMs: warning };
  }

  /** One occurrence, in its own transaction: re-read, mark, route, write. */
  async function raise(grantId: GrantId, event: DueAlert['event']): Promise<'raised' | 'settled' | 'gone'> {
    return ctx.store.transaction(async (tx) => {
      const routes = await tx.alerts.listRoutes();
      // No route, no alert, and no mark: a route added later still hears of a condition that lasts.
      if (routes.length === 0) return 'gone';
      const grant = await tx.grants.findById(grantId);
      const now = ctx.clock.now();
      const due = grant === undefined ? undefined : dueAlerts(grant, now, await thresholdsFor(tx, grant, new Map())).find((d) => d.event === event);
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
      const watched: { grant: Grant; limits: WatchThresholds }[] = await ctx.store.transaction(async (tx) => {
        if ((await tx.alerts.listRoutes()).length === 0) return [];
        const policies = new Map<string, number | undefined>();
        const list = [];
        for (const grant of await tx.grants.list({ states: watchedStates })) list.push({ grant, limits: await thresholdsFor(tx, grant, policies) });
        return list;
      });
      const current = new Set<string>();
      let raised = 0;
      for (const { grant, limits } of watched) {
        for (const due of dueAlerts(grant, now, limits)) {
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
