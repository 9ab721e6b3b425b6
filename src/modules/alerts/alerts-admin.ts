/**
 * Looking after the alerting: `breakglass alerts` (what was announced where, and what could not
 * be), `breakglass alerts retry ID` (a dead message sent again) and `breakglass channel test
 * NAME` (a test message through one channel, the receiver's answer reported).
 */
import { authorize, type Actor, type AlertEvent } from '../../domain/index.js';
import { appError } from '../../errors/index.js';
import type { AlertAck, ChannelRecord, OutboxMessage, OutboxState } from '../../ports/index.js';
import type { ModuleContext } from '../context.js';
import { aad } from '../vault/vault.js';
import { ackEventOf } from './alert-escalation.js';
import { systemPayload } from './alert-outbox.js';
import type { ChannelSenders } from '../../ports/index.js';

/** One message as listed: what it announces and how its delivery goes. Never the channel's secret. */
export interface AlertView {
  readonly id: string;
  readonly event: AlertEvent;
  readonly channel: string;
  readonly state: OutboxState;
  readonly attempts: number;
  /** The idempotency key the receiver sees: the audit event that raised it (`evt-<seq>`), or a generated id. */
  readonly eventId: string;
  readonly grant?: string;
  readonly account?: string;
  readonly createdAt: Date;
  readonly sentAt?: Date;
  readonly lastError?: string;
  /** Who acknowledged its event, and when (the same for every channel the event went to). */
  readonly acked?: { readonly by: string; readonly at: Date; readonly note?: string };
}

const ackView = (ack: AlertAck | undefined): Pick<AlertView, 'acked'> =>
  ack === undefined ? {} : { acked: { by: ack.ackedBy, at: ack.ackedAt, ...(ack.note === undefined ? {} : { note: ack.note }) } };

const view = (message: OutboxMessage, ack?: AlertAck): AlertView => ({
  id: message.id,
  event: message.payload.event,
  channel: message.channel,
  state: message.state,
  attempts: message.attempts,
  eventId: message.payload.id,
  ...(message.payload.grant === undefined ? {} : { grant: message.payload.grant }),
  ...(message.payload.account === undefined ? {} : { account: message.payload.account }),
  createdAt: message.createdAt,
  ...(message.sentAt === undefined ? {} : { sentAt: message.sentAt }),
  ...(message.lastError === undefined ? {} : { lastError: message.lastError }),
  ...ackView(ack),
});

/**
 * `breakglass alerts [--state pending|sent|dead]`: the outbox, newest first (at most `limit`,
 * the store's default when absent). Admins and auditors.
 * @example await listAlerts(ctx, actor, { state: 'dead' })
 */
export async function listAlerts(ctx: ModuleContext, actor: Actor, filter: { readonly state?: OutboxState | undefined; readonly limit?: number | undefined } = {}): Promise<AlertView[]> {
  authorize(actor, 'alert.list');
  const { messages, acks } = await ctx.store.transaction(async (tx) => {
    const listed = await tx.outbox.list({ ...(filter.state === undefined ? {} : { state: filter.state }), ...(filter.limit === undefined ? {} : { limit: filter.limit }) });
    return { messages: listed, acks: await tx.alertAcks.find(listed.map((m) => ackEventOf(m.payload))) };
  });
  return messages.map((message) => view(message, acks.get(ackEventOf(message.payload))));
}

/**
 * `breakglass alerts retry ID`: a dead message back to pending, due now, its attempts reset; the
 * relay delivers it (in order: it is again the oldest of its channel's unsent messages). Only a
 * dead message: a pending one is being retried already, a sent one arrived. Admins only.
 * @example await retryAlert(ctx, actor, 'alr_…')
 */
export async function retryAlert(ctx: ModuleContext, actor: Actor, id: string): Promise<AlertView> {
  authorize(actor, 'alert.retry');
  return ctx.store.transaction(async (tx) => {
    const message = await tx.outbox.find(id);
    if (!message) throw appError.notFound(`alert ${id}`);
    const now = ctx.clock.now();
    // revive is a compare-and-set on `dead`: of two concurrent retries, one wins.
    if (message.state !== 'dead' || !(await tx.outbox.revive(id, now))) {
      throw appError.conflict(`alert ${id} is ${message.state === 'dead' ? 'being retried already' : message.state}; only a dead alert can be retried`);
    }
    await ctx.audit.append(tx, {
      actor: actor.name,
      action: 'alert.retried',
      subject: id,
      details: { channel: message.channel, event: message.payload.event, eventId: message.payload.id, attempts: message.attempts, ...(message.lastError === undefined ? {} : { lastError: message.lastError }) },
    });
    const revived = await tx.outbox.find(id);
    return view(revived ?? message);
  });
}

/** What `breakglass channel test` reports: the receiver's answer, or why it was not delivered. */
export type ChannelTestResult = { readonly channel: string; readonly ok: true; readonly status: string } | { readonly channel: string; readonly ok: false; readonly error: string };

/**
 * `breakglass channel test NAME`: an `alert.test` message straight through the channel's sender
 * (not the outbox: the answer is wanted now, and a test must not queue ahead of real alerts).
 * A failed delivery is the result, not an error; the outcome is audited. Admins only.
 * @example await testChannel(ctx, actor, 'secops-hook')
 */
export async function testChannel(ctx: ModuleContext, actor: Actor, name: string, senders: ChannelSenders = ctx.channelSenders ?? {}): Promise<ChannelTestResult> {
  authorize(actor, 'channel.test');
  const channel = await ctx.store.transaction((tx) => tx.alerts.findChannel(name));
  if (!channel) throw appError.notFound(`channel "${name}"`);
  const result = await deliverTest(ctx, actor, channel, senders);
  await ctx.store.transaction((tx) =>
    ctx.audit.append(tx, { actor: actor.name, action: 'channel.tested', subject: channel.name, details: { type: channel.type, ...result } }),
  );
  return result;
}

async function deliverTest(ctx: ModuleContext, actor: Actor, channel: ChannelRecord, senders: ChannelSenders): Promise<ChannelTestResult> {
  const now = ctx.clock.now();
  const payload = systemPayload('alert.test', now, `test message from Breakglass to channel ${channel.name}, sent by ${actor.name}`, { channel: channel.name, by: actor.name });
  const load = senders[channel.type];
  if (!load) return { channel: channel.name, ok: false, error: `no sender for ${channel.type} channels in this build` };
  // Unsealed in memory for this one delivery, as the relay does.
  const secret = channel.secretSealed === undefined ? undefined : ctx.vault.open(channel.secretSealed, aad.channelSecret(channel.name));
  try {
    const receipt = await (await load())({ name: channel.name, type: channel.type, settings: channel.settings, secret }, payload);
    return { channel: channel.name, ok: true, status: receipt.status };
  } catch (error) {
    const why = error instanceof Error ? error.message : 'unknown error';
    // Senders never quote the secret; the answer goes to the audit chain and a terminal, so make sure.
    return { channel: channel.name, ok: false, error: secret === undefined || secret === '' ? why : why.replaceAll(secret, '[secret]') };
  }
}
