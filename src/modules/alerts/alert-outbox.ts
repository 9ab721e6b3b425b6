import { alertOfAuditAction, alertSeverity, type AlertEvent } from '../../domain/index.js';
import type { AlertPayload, AuditEventRecord, Clock, StoreTx } from '../../ports/index.js';
import type { AppendHook } from '../audit/audit-log.js';
import type { ModuleContext } from '../context.js';
import type { Vault } from '../vault/vault.js';
import { routeAlert } from './alert-escalation.js';
import { payloadOf, type AlertSettings } from './alert-payload.js';
import { channelsFor } from './alert-routing.js';

/**
 * The writing side of the transactional outbox. `onAudit` is an audit-append hook: the alert an
 * event raises is routed and written in the same transaction as the event (and the change it
 * records), so an alert exists exactly when its change does. A relay delivers it later. With the
 * vault, alerts of routes that want an acknowledgement carry a signed link (the key is sealed).
 */
export function alertOutbox(deps: { readonly clock: Clock; readonly settings: AlertSettings; readonly vault?: Vault }): { readonly onAudit: AppendHook } {
  const links = deps.vault === undefined ? undefined : { vault: deps.vault, settings: deps.settings };
  return {
    async onAudit(tx: StoreTx, record: AuditEventRecord) {
      const event = alertOfAuditAction[record.action as keyof typeof alertOfAuditAction];
      if (event === undefined) return;
      const routes = await tx.alerts.listRoutes();
      if (routes.length === 0) return;
      const payload = await payloadOf(tx, event, record, deps.settings);
      await routeAlert(tx, payload, routes, deps.clock.now(), links);
    },
  };
}

/** Writes one alert for each channel, due now. */
export async function enqueue(tx: StoreTx, payload: AlertPayload, channels: readonly string[], now: Date): Promise<void> {
  await tx.outbox.enqueue(channels.map((channel) => ({ channel, payload, dueAt: now })));
}

/** An alert about the alerting itself (a dead message, a channel test), not raised by an audit event. */
export function systemPayload(event: AlertEvent, now: Date, summary: string, details: Readonly<Record<string, unknown>>): AlertPayload {
  return { event, id: `${event}-${now.getTime()}-${Math.random().toString(36).slice(2, 10)}`, at: now.toISOString(), severity: alertSeverity[event], summary, details };
}

/**
 * Raises an alert that no audit event carries (a chain that fails verification): routed like
 * the others, written in its own transaction under the audit head lock (outbox order is chain
 * order). Returns how many channels it went to.
 */
export async function raiseSystemAlert(ctx: Pick<ModuleContext, 'store' | 'clock'>, event: AlertEvent, summary: string, details: Readonly<Record<string, unknown>>): Promise<number> {
  return ctx.store.transaction(async (tx) => {
    await tx.audit.lockHead();
    const payload = systemPayload(event, ctx.clock.now(), summary, details);
    const routes = await tx.alerts.listRoutes();
    await routeAlert(tx, payload, routes, ctx.clock.now(), undefined);
    return channelsFor(payload, routes).length;
  });
}
