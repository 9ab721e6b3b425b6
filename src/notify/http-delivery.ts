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

/**
 * The URL of a Slack or Teams incoming webhook, which is the channel's secret: whoever holds it
 * can post. Checked here because the catalog only sees it sealed; the error never quotes it.
 */
export function secretUrl(channel: ChannelConnection): string {
  const text = channel.secret ?? '';
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (url === undefined || !['https:', 'http:'].includes(url.protocol) || url.username !== '' || url.password !== '') {
    throw new AppError('target_error', `${channel.type} channel "${channel.name}" needs its incoming webhook URL (https://…) as its secret; set it with secretEnv and apply the catalog again`);
  }
  return url.href;
}

/** Worth another try later: the receiver is down, overloaded, slow or rate-limiting us. */
const retryableStatus = (status: number): boolean => status >= 500 || status === 408 || status === 425 || status === 429;

/**
 * POSTs `body` (JSON) and accepts any 2xx. No answer, a 5xx, 408, 425 or 429 is a retryable
 * failure; any other answer (a 4xx: wrong URL, revoked webhook, refused key) will not heal by
 * itself and is not retried.
 */
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
  if (response.ok) return { status: `HTTP ${response.status}` };
  if (retryableStatus(response.status)) throw new AppError('target_unavailable', `${channel.type} channel "${channel.name}" answered HTTP ${response.status}`);
  throw new AppError('target_error', `${channel.type} channel "${channel.name}" answered HTTP ${response.status}: the receiver refused the alert; check the channel's settings and secret`);
}
