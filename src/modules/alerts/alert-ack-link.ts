/**
 * The signed one-click acknowledgement link in an alert message:
 * `GET <public url>/v1/alerts/ack?e=<event id>&c=<channel>&x=<expiry, unix s>&s=<hex HMAC-SHA256>`.
 * The link is the capability (no bearer token): whoever holds the message may say "seen", for
 * that one event, until it expires. The HMAC key is 32 random bytes made once, on the first
 * ack-able alert, and kept sealed under the root key in settings (`rotate-root` rewraps it).
 * The channel is signed too, so the audit record's `link:<channel>` cannot be made to name
 * another channel than the one whose message carried the link.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { StoreTx } from '../../ports/index.js';
import { aad, type Vault } from '../vault/vault.js';

/** The settings key of the sealed link key (listed in src/root-key/settings-keys.ts for rotation). */
export const ackKeySetting = 'alert.ack-key.sealed';
/** How long a link acknowledges: a day, then only `breakglass ack` does. */
export const DEFAULT_ACK_LINK_TTL_MS = 24 * 3_600_000;

/** What a link says, as its query parameters carry it. */
export interface AckLink {
  /** The event acknowledged (`evt-<seq>`). */
  readonly eventId: string;
  /** The channel whose message carried the link: the acknowledgement is recorded as `link:<channel>`. */
  readonly channel: string;
  /** Unix seconds after which the link is refused. */
  readonly expires: number;
}

/**
 * The link key. `create`: made and stored on first use (insert-if-absent, so two instances agree
 * on one); `existing`: absent means no link was ever issued.
 */
export async function ackLinkKey(tx: StoreTx, vault: Vault, mode: 'create' | 'existing'): Promise<Buffer | undefined> {
  let sealed = await tx.settings.get(ackKeySetting);
  if (sealed === undefined) {
    if (mode === 'existing') return undefined;
    const fresh = randomBytes(32);
    sealed = await tx.settings.set(ackKeySetting, vault.seal(fresh.toString('base64'), aad.alertAckKey()), { ifAbsent: true });
    fresh.fill(0);
  }
  return Buffer.from(vault.open(sealed, aad.alertAckKey()), 'base64');
}

/** Domain-separated, one field a line: no event id or channel name holds a newline (the parser refuses one). */
const signature = (key: Buffer, link: AckLink) => createHmac('sha256', key).update(`breakglass-ack-link/v1\n${link.eventId}\n${link.channel}\n${link.expires}`).digest();

/** The link for one channel's message. */
export function ackLinkUrl(publicUrl: string, key: Buffer, link: AckLink): string {
  const query = new URLSearchParams({ e: link.eventId, c: link.channel, x: String(link.expires), s: signature(key, link).toString('hex') });
  return `${publicUrl.replace(/\/+$/, '')}/v1/alerts/ack?${query.toString()}`;
}

/** Is `hex` the link's signature? In constant time; any malformed signature is just "no". */
export function ackLinkSigned(key: Buffer, link: AckLink, hex: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(hex)) return false;
  return timingSafeEqual(signature(key, link), Buffer.from(hex, 'hex'));
}
