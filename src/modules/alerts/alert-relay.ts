import { randomUUID } from 'node:crypto';
import { isAppError } from '../../errors/index.js';
import type { ChannelConnection, ChannelSenders, OutboxMessage } from '../../ports/index.js';
import { backoffDelay, type ModuleContext, type RetryPolicy } from '../context.js';
import { aad } from '../vault/vault.js';
import { enqueue, systemPayload } from './alert-outbox.js';

export type { ChannelSenders } from '../../ports/index.js';

/** Attempts before a message is dead, unless the channel says `maxAttempts`. */
export const DEFAULT_MAX_ATTEMPTS = 12;
/** Retry backoff per channel: 1 s doubling to 60 s, with jitter (a minute's outage loses nothing). */
export const deliveryRetry: RetryPolicy = { baseMs: 1_000, maxMs: 60_000 };
const LEASE_MS = 30_000;

export interface AlertRelay {
  /** Delivers what is due: per channel the oldest message not yet sent. Returns how many it tried. */
  tick(): Promise<number>;
}

/**
 * The delivering side of the outbox: at least once, in order per channel, each message with its
 * event id as the idempotency key. A failure waits (exponential backoff with jitter) and is tried
 * again; after `maxAttempts` the message is dead, and that itself is an alert on every other
 * channel. Claims carry a fencing token, so two instances never both record a delivery.
 */
export function createAlertRelay(
  ctx: Pick<ModuleContext, 'store' | 'clock' | 'vault' | 'log'>,
  senders: ChannelSenders,
  options: { random?: () => number; instanceId?: string } = {},
): AlertRelay {
  // `<instance>/alerts/<run>`: a restarted server takes back what its dead run was delivering at once.
  const lives = `${options.instanceId ?? `inst-${randomUUID()}`}/alerts/`;
  const owner = `${lives}${randomUUID()}`;
  const random = options.random ?? Math.random;
  let recovered = false;

  async function deliver(message: OutboxMessage): Promise<void> {
    const channel = await ctx.store.transaction((tx) => tx.alerts.findChannel(message.channel));
    const now = () => ctx.clock.now();
    if (!channel) {
      await fail(message, `channel "${message.channel}" is no longer in the catalog`, 'dead');
      return;
    }
    const connection: ChannelConnection = {
      name: channel.name,
      type: channel.type,
      settings: channel.settings,
      secret: channel.secretSealed === undefined ? undefined : ctx.vault.open(channel.secretSealed, aad.channelSecret(channel.name)),
    };
    const load = senders[channel.type];
    try {
      if (!load) throw new Error(`no sender for ${channel.type} channels in this build`);
      await (await load())(connection, message.payload);
    } catch (error) {
      const why = isAppError(error) ? error.message : error instanceof Error ? error.message : 'unknown error';
      const limit = typeof channel.settings['maxAttempts'] === 'number' ? channel.settings['maxAttempts'] : DEFAULT_MAX_ATTEMPTS;
      const dead = message.attempts + 1 >= limit;
      await fail(message, why, dead ? 'dead' : { dueAt: new Date(now().getTime() + backoffDelay(deliveryRetry, message.attempts, random)) });
      return;
    }
    await ctx.store.transaction((tx) => tx.outbox.markSent(message, now()));
  }

  async function fail(message: OutboxMessage, why: string, next: { dueAt: Date } | 'dead'): Promise<void> {
    if (next !== 'dead') {
      ctx.log.warn({ alert: message.id, channel: message.channel, attempts: message.attempts + 1, err: why }, 'alert not delivered; will retry');
      await ctx.store.transaction((tx) => tx.outbox.markFailed(message, why, next));
      return;
    }
    ctx.log.error({ alert: message.id, channel: message.channel, event: message.payload.event, attempts: message.attempts + 1, err: why }, 'alert could not be delivered: dead');
    await ctx.store.transaction(async (tx) => {
      // Outbox order is chain order: writers take the audit head lock (PostgreSQL), as appends do.
      await tx.audit.lockHead();
      if (!(await tx.outbox.markFailed(message, why, 'dead'))) return;
      // A dead message is itself news, on every other channel (never on the one that failed).
      if (message.payload.event === 'alert.dead') return;
      const others = (await tx.alerts.listChannels()).map((c) => c.name).filter((name) => name !== message.channel);
      const payload = systemPayload('alert.dead', ctx.clock.now(), `alert ${message.payload.event} (${message.payload.id}) could not be delivered to ${message.channel}`, {
        alert: message.id,
        channel: message.channel,
        event: message.payload.event,
        eventId: message.payload.id,
        ...(message.payload.grant === undefined ? {} : { grant: message.payload.grant }),
        lastError: why,
      });
      await enqueue(tx, payload, others, ctx.clock.now());
    });
  }

  return {
    async tick() {
      if (!recovered) {
        await ctx.store.transaction((tx) => tx.outbox.releaseEarlierLives(owner, lives));
        recovered = true;
      }
      const now = ctx.clock.now();
      const claimed = await ctx.store.transaction((tx) => tx.outbox.claimDue(now, owner, new Date(now.getTime() + LEASE_MS), 16));
      // One message per channel at a time (the claim takes each channel's oldest): channels in parallel.
      await Promise.all(claimed.map((message) => deliver(message)));
      return claimed.length;
    },
  };
}
