/**
 * The webhook channel: one JSON POST per alert, signed so the receiver can tell it came from
 * Breakglass and is fresh. Headers: `Breakglass-Event-Id` (the idempotency key: the same on
 * every retry), `Breakglass-Timestamp` (unix seconds) and `Breakglass-Signature:
 * v1=<hex HMAC-SHA256 over "<timestamp>.<body>" with the channel's secret>`.
 */
import { createHmac } from 'node:crypto';
import { AppError } from '../errors/index.js';
import type { AlertPayload, ChannelConnection, ChannelSender } from '../ports/index.js';
import { postJson, requiredSetting } from './http-delivery.js';

/** `v1=<hex>` for `body` sent at `timestamp` (what a receiver recomputes). */
export function webhookSignature(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export const webhookSender: ChannelSender = async (channel: ChannelConnection, payload: AlertPayload) => {
  const url = requiredSetting(channel, 'url');
  if (channel.secret === undefined) throw new AppError('validation', `webhook channel "${channel.name}" has no secret; give it secretEnv and apply again`);
  const body = JSON.stringify(payload);
  const timestamp = Math.floor(Date.now() / 1000).toString();
  return postJson(channel, url, body, {
    'Breakglass-Event-Id': payload.id,
    'Breakglass-Timestamp': timestamp,
    'Breakglass-Signature': webhookSignature(channel.secret, timestamp, body),
  });
};
