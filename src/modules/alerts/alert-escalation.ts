/**
 * Acknowledgement with escalation (issue 9, point 4). A route with `ackWithin: 10m` and
 * `escalateTo: [...]` makes its alerts ack-able: each message carries a signed link
 * (`ackLink`, per channel, when the server has a public URL), and an escalation is written with
 * the alert, in its transaction. The escalation tick sends the alert again to `escalateTo` once
 * `ackWithin` has passed with no acknowledgement of its event: exactly once, through a
 * compare-and-set on the escalation row (`escalated_at`), the audit head lock ordering outbox
 * writers as appends do. What an escalation says is fixed when the alert is raised: a catalog
 * applied in between changes later alerts, not this one.
 */
import { parseDuration } from '../../domain/index.js';
import type { AlertPayload, PendingEscalation, RouteRecord, StoreTx } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import type { Vault } from '../vault/vault.js';
import { ackLinkKey, ackLinkUrl, DEFAULT_ACK_LINK_TTL_MS } from './alert-ack-link.js';
import type { AlertSettings } from './alert-payload.js';
import { channelsFor, routeTakes } from './alert-routing.js';

/** What signing links needs: the vault (the link key is sealed) and the public URL. */
export interface AckLinks {
  readonly vault: Vault;
  readonly settings: AlertSettings;
}

/** The event an acknowledgement of this alert is about: for an escalated alert, the original. */
export function ackEventOf(payload: AlertPayload): string {
  const original = payload.escalated === true ? payload.details?.['escalatedFrom'] : undefined;
  return typeof original === 'string' ? original : payload.id;
}

/** The alert sent again for one route: same event and facts, its own id (receivers de-duplicate on ids). */
function escalationOf(payload: AlertPayload, step: number, ackWithin: string, channels: readonly string[], dueAt: Date): PendingEscalation {
  return {
    eventId: payload.id,
    step,
    dueAt,
    channels,
    payload: {
      ...payload,
      id: `${payload.id}-escalated-${step}`,
      summary: `not acknowledged within ${ackWithin}: ${payload.summary}`,
      escalated: true,
      details: { ...payload.details, escalatedFrom: payload.id, ackWithin },
    },
  };
}

/**
 * Writes an alert to the channels its routes name, and the escalations of the routes that want
 * an acknowledgement (each route its own, by its position). In the caller's transaction.
 */
export async function routeAlert(tx: StoreTx, payload: AlertPayload, routes: readonly RouteRecord[], now: Date, links: AckLinks | undefined): Promise<void> {
  const escalations = routes.flatMap((route, step) => {
    const ms = route.ackWithin === undefined ? undefined : parseDuration(route.ackWithin);
    if (ms === undefined || route.ackWithin === undefined || route.escalateTo === undefined || !routeTakes(route, payload)) return [];
    return [escalationOf(payload, step, route.ackWithin, route.escalateTo, new Date(now.getTime() + ms))];
  });
  await tx.alertAcks.scheduleEscalations(escalations);
  await enqueueAckable(tx, payload, channelsFor(payload, routes), now, escalations.length > 0 ? links : undefined);
}

/** One message per channel, due now; with `links` (and a public URL) each carries its channel's signed link. */
async function enqueueAckable(tx: StoreTx, payload: AlertPayload, channels: readonly string[], now: Date, links: AckLinks | undefined): Promise<void> {
  const linked = links === undefined ? new Map<string, string>() : await signedLinks(tx, links, ackEventOf(payload), channels, now);
  await tx.outbox.enqueue(channels.map((channel) => {
    const ackLink = linked.get(channel);
    return { channel, payload: ackLink === undefined ? payload : { ...payload, ackLink }, dueAt: now };
  }));
}

async function signedLinks(tx: StoreTx, links: AckLinks, eventId: string, channels: readonly string[], now: Date): Promise<Map<string, string>> {
  const { publicUrl, ackLinkTtlMs = DEFAULT_ACK_LINK_TTL_MS } = links.settings;
  if (publicUrl === undefined || channels.length === 0) return new Map();
  const key = await ackLinkKey(tx, links.vault, 'create');
  if (key === undefined) return new Map();
  try {
    const expires = Math.floor((now.getTime() + ackLinkTtlMs) / 1000);
    return new Map(channels.map((channel) => [channel, ackLinkUrl(publicUrl, key, { eventId, channel, expires })]));
  } finally {
    key.fill(0);
  }
}

export interface AlertEscalation {
  /** Sends again what nobody acknowledged in time; returns how many alerts it escalated. */
  tick(): Promise<number>;
}

/** The escalation tick (the server runs it with the alert watch, once a second while the store is usable). */
export function createAlertEscalation(ctx: Pick<ModuleContext, 'store' | 'clock' | 'vault'>, options: { readonly settings: AlertSettings }): AlertEscalation {
  const links: AckLinks = { vault: ctx.vault, settings: options.settings };
  return {
    async tick() {
      const due = await ctx.store.transaction((tx) => tx.alertAcks.dueEscalations(ctx.clock.now(), 64));
      let escalated = 0;
      for (const escalation of due) {
        const sent = await ctx.store.transaction(async (tx) => {
          // The chain head's lock orders outbox writers (as in an audit append): rows keep their order per channel.
          await tx.audit.lockHead();
          const now = ctx.clock.now();
          // Acknowledged since the list, or escalated by a peer: nothing to send.
          if (!(await tx.alertAcks.markEscalated(escalation.eventId, escalation.step, now))) return false;
          await enqueueAckable(tx, escalation.payload, escalation.channels, now, links);
          return true;
        });
        if (sent) escalated += 1;
      }
      return escalated;
    },
  };
}
