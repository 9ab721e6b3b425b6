import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../../errors/index.js';
import type { RandomBytes } from './random-bytes.js';

/*
 * TOTP, RFC 6238 over HOTP (RFC 4226), with node:crypto's HMAC: the algorithm is 20 lines, and a
 * library would add a dependency for no gain (the otplib/speakeasy family bring their own
 * base32 and defaults we would have to pin anyway). The parameters are the ones every
 * authenticator app supports without asking: SHA-1, 30-second steps, 6 digits. Codes are checked
 * against an independent implementation (oathtool) in the tests.
 *
 * A code is accepted once only: the caller stores the `step` of each accepted code, passes it
 * back as `lastAcceptedStep`, and a code of that step or an earlier one is refused, so a code
 * seen over a shoulder or in a log cannot be replayed within its ±1 step window.
 */

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps either side of now that are accepted (clock drift between phone and server). */
export const TOTP_WINDOW_STEPS = 1;
/** RFC 4226 §4 R6 asks for at least 128 bits and recommends 160: 20 bytes, SHA-1's block output. */
export const TOTP_SECRET_BYTES = 20;

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32, upper case, without padding (what otpauth URIs and oathtool `-b` take). */
export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32.charAt((value >>> (bits - 5)) & 31);
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32.charAt((value << (5 - bits)) & 31);
  return out;
}

/** Decodes RFC 4648 base32 (case-insensitive, padding optional); undefined if malformed. */
export function base32Decode(text: string): Buffer | undefined {
  const clean = text.toUpperCase().replace(/=+$/, '');
  if (!/^[A-Z2-7]*$/.test(clean)) return undefined;
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of clean) {
    value = ((value << 5) | BASE32.indexOf(ch)) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/**
 * HOTP (RFC 4226 §5.3): HMAC-SHA-1 of the 8-byte big-endian counter, dynamic truncation,
 * `digits` decimal digits with leading zeros. Exported for the RFC test vectors (8 digits).
 *
 * @example
 * hotp(Buffer.from('12345678901234567890'), 1n, 8); // '94287082' at T = 59 s
 */
export function hotp(key: Uint8Array, counter: bigint, digits: number): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(counter);
  const mac = createHmac('sha1', key).update(message).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return (binary % 10 ** digits).toString().padStart(digits, '0');
}

/** The time step of an instant: floor(unix seconds / 30). */
export function totpStep(now: Date): number {
  return Math.floor(now.getTime() / 1000 / TOTP_PERIOD_SECONDS);
}

/**
 * A new TOTP secret: 20 random bytes in base32 without padding (32 characters). This is the
 * one place the secret is returned; the caller seals it and shows it once (enrolment).
 *
 * @example
 * const secret = newTotpSecret(systemRandomBytes); // 'JBSWY3DPEHPK3PXP…'
 */
export function newTotpSecret(random: RandomBytes): string {
  const bytes = Buffer.from(random(TOTP_SECRET_BYTES));
  if (bytes.length !== TOTP_SECRET_BYTES) throw new AppError('internal', 'the random source returned the wrong number of bytes');
  const secret = base32Encode(bytes);
  bytes.fill(0);
  return secret;
}

/**
 * The `otpauth://` URI an authenticator app reads (from a QR code), in the Key URI Format:
 * label `Issuer:account`, and the parameters spelled out so no app guesses.
 *
 * @example
 * otpauthUri({ issuer: 'Breakglass', account: 'alice', secret });
 * // 'otpauth://totp/Breakglass:alice?secret=…&issuer=Breakglass&algorithm=SHA1&digits=6&period=30'
 */
export function otpauthUri(input: { issuer: string; account: string; secret: string }): string {
  const label = `${encodeURIComponent(input.issuer)}:${encodeURIComponent(input.account)}`;
  const query = new URLSearchParams({
    secret: input.secret,
    issuer: input.issuer,
    algorithm: 'SHA1',
    digits: String(TOTP_DIGITS),
    period: String(TOTP_PERIOD_SECONDS),
  });
  return `otpauth://totp/${label}?${query.toString()}`;
}

/** A code as typed: 6 digits; spaces (as apps display `123 456`) are dropped. */
export const totpCodeSchema = z
  .string()
  .max(32)
  .transform((s) => s.replace(/\s+/g, ''))
  .refine((s) => new RegExp(`^[0-9]{${TOTP_DIGITS}}$`).test(s), `a code is ${TOTP_DIGITS} digits`);

export type TotpResult =
  | { readonly ok: true; readonly step: number }
  /** `replayed`: right code, already used (or older than one used). Tell the person only "wrong code". */
  | { readonly ok: false; readonly reason: 'malformed' | 'mismatch' | 'replayed' };

/**
 * Checks a TOTP code at `now` (±1 step). On success returns the `step` the code belongs to: the
 * caller must store it and pass it as `lastAcceptedStep` next time (in the same transaction as
 * the sign-in), which makes each code good for one use. Every candidate step is computed and
 * compared in constant time, whether or not an earlier one matched.
 *
 * A stored secret that is not base32 is an integrity fault, not a wrong code: it throws.
 *
 * @example
 * const r = verifyTotp({ secret, code, now: clock.now(), lastAcceptedStep: user.totpLastStep });
 * if (r.ok) await tx.users.setTotpLastStep(user.id, r.step);
 */
export function verifyTotp(input: {
  secret: string;
  code: string;
  now: Date;
  lastAcceptedStep: number | null;
}): TotpResult {
  const key = base32Decode(input.secret);
  if (key === undefined || key.length < 16) throw new AppError('integrity', 'a stored TOTP secret is malformed');
  try {
    const parsed = totpCodeSchema.safeParse(input.code);
    if (!parsed.success) return { ok: false, reason: 'malformed' };
    const presented = Buffer.from(parsed.data, 'utf8');
    const now = totpStep(input.now);
    let matched: number | undefined;
    for (let step = now - TOTP_WINDOW_STEPS; step <= now + TOTP_WINDOW_STEPS; step++) {
      if (step < 0) continue;
      const expected = Buffer.from(hotp(key, BigInt(step), TOTP_DIGITS), 'utf8');
      // The latest matching step wins, so a (rare) collision does not let an older step mask a newer one.
      if (timingSafeEqual(expected, presented)) matched = step;
    }
    if (matched === undefined) return { ok: false, reason: 'mismatch' };
    if (input.lastAcceptedStep !== null && matched <= input.lastAcceptedStep) return { ok: false, reason: 'replayed' };
    return { ok: true, step: matched };
  } finally {
    key.fill(0);
  }
}
