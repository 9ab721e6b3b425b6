/**
 * One HTTP delivery, as every HTTP-based channel makes it (webhook, Slack, Teams, PagerDuty):
 * bounded in time, the receiver's answer turned into a receipt or a retryable error that
 * names the channel and the status, never the body sent (it may be long; it is in the outbox).
 */
import { AppError } from '../errors/index.js';
import type { ChannelConnection, DeliveryReceipt } from '../ports/index.js';

/** How long a receiver may take to answer one delivery. */
export const DELIVERY_TIMEOUT_MS = 10_000;

export function requiredSetting(channel: ChannelConnection, key: string): string {
  const value = channel.settings[key];
  if (typeof value !== 'string' || value === '') throw new AppError('validation', `${channel.type} channel "${channel.name}" has no ${key}`);
  return value;
}

/** POSTs `body` (JSON) and accepts any 2xx; anything else, or no answer, is a retryable failure. */
export async function postJson(channel: ChannelConnection, url: string, body: string, headers: Readonly<Record<string, string>> = {}): Promise<DeliveryReceipt> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'breakglass-alerts', ...headers },
      body,
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      redirect: 'error',
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error instanceof Error ? error.name : 'unknown');
    throw new AppError('target_unavailable', `${channel.type} channel "${channel.name}" could not be reached (${cause})`);
  }
  await response.body?.cancel().catch(() => undefined);
  if (!response.ok) throw new AppError('target_unavailable', `${channel.type} channel "${channel.name}" answered HTTP ${response.status}`);
  return { status: `HTTP ${response.status}` };
}
