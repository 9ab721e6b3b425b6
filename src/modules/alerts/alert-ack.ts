/**
 * Acknowledging an alert: `breakglass ack ALERT_ID [--note]` (`POST /v1/alerts/{id}/ack`) and
 * the signed link in a message (`/v1/alerts/ack?e=…&c=…&x=…&s=…`). An acknowledgement is per
 * event (`evt-<seq>`, whichever channel's message it was given on) and stops the event's
 * escalations. The first one stands: acknowledging again answers it and records nothing new,
 * so a link clicked twice (or opened by two people) leaves one `alert.acknowledged` event.
 */
import { authorize, type Actor } from '../../domain/index.js';
import { AppError, appError } from '../../errors/index.js';
import type { AlertAck, StoreTx } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import { ackLinkKey, ackLinkSigned, type AckLink } from './alert-ack-link.js';
import { ackEventOf } from './alert-escalation.js';

/** The acknowledgement that stands, and whether this call was the one that recorded it. */
export interface AckResult extends AlertAck {
  readonly alreadyAcknowledged: boolean;
}

async function record(ctx: Pick<ModuleContext, 'audit' | 'clock'>, tx: StoreTx, ack: AlertAck, details: Readonly<Record<string, unknown>>): Promise<AckResult> {
  const outcome = await tx.alertAcks.acknowledge(ack);
  if (outcome.first) {
    await ctx.audit.append(tx, { actor: ack.ackedBy, action: 'alert.acknowledged', subject: ack.eventId, details: { ...details, ...(ack.note === undefined ? {} : { note: ack.note }) } });
  }
  return { ...outcome.ack, alreadyAcknowledged: !outcome.first };
}

/**
 * `breakglass ack ALERT_ID`: acknowledges the event of an outbox message (`alr_…`, as
 * `breakglass alerts` lists it; for an escalated message, the original event). Admins,
 * incident owners and auditors. Audited once, as `alert.acknowledged` with who, when and the note.
 * @example await acknowledgeAlert(ctx, actor, 'alr_…', 'on it, INC-7')
 */
export async function acknowledgeAlert(ctx: ModuleContext, actor: Actor, id: string, note?: string): Promise<AckResult> {
  authorize(actor, 'alert.ack');
  return ctx.store.transaction(async (tx) => {
    const message = await tx.outbox.find(id);
    if (!message) throw appError.notFound(`alert ${id}`);
    const ack: AlertAck = { eventId: ackEventOf(message.payload), ackedBy: actor.name, ackedAt: ctx.clock.now(), note };
    return record(ctx, tx, ack, { alert: id, channel: message.channel, event: message.payload.event, via: 'api' });
  });
}

/** One answer for every link that does not hold (altered, expired, never issued): nothing says which part failed. */
const invalidLink = () => new AppError('not_found', 'this acknowledgement link is not valid or has expired; acknowledge with `breakglass ack ALERT_ID`');

async function checkedLink(ctx: Pick<ModuleContext, 'vault' | 'clock'>, tx: StoreTx, link: AckLink, signature: string): Promise<void> {
  if (link.expires * 1000 <= ctx.clock.now().getTime()) throw invalidLink();
  const key = await ackLinkKey(tx, ctx.vault, 'existing');
  if (key === undefined) throw invalidLink();
  try {
    if (!ackLinkSigned(key, link, signature)) throw invalidLink();
  } finally {
    key.fill(0);
  }
}

/**
 * What a link would acknowledge, and whether it is acknowledged already: the page a browser
 * shows before the click that acknowledges (a GET changes nothing, so a mail scanner or a chat
 * preview that fetches the link does not acknowledge for anyone).
 */
export async function inspectAckLink(ctx: ModuleContext, link: AckLink, signature: string): Promise<{ readonly link: AckLink; readonly ack: AlertAck | undefined }> {
  return ctx.store.transaction(async (tx) => {
    await checkedLink(ctx, tx, link, signature);
    return { link, ack: (await tx.alertAcks.find([link.eventId])).get(link.eventId) };
  });
}

/**
 * The signed link's acknowledgement. The link is the capability (no token): it names one event
 * and one channel, is signed with the server's key and expires. Recorded as `link:<channel>`:
 * who holds a channel's messages is who the channel's receivers are, which is as much as a
 * link can tell.
 */
export async function acknowledgeByLink(ctx: ModuleContext, link: AckLink, signature: string): Promise<AckResult> {
  return ctx.store.transaction(async (tx) => {
    await checkedLink(ctx, tx, link, signature);
    const ack: AlertAck = { eventId: link.eventId, ackedBy: `link:${link.channel}`, ackedAt: ctx.clock.now(), note: undefined };
    return record(ctx, tx, ack, { channel: link.channel, via: 'link' });
  });
}
