import { z } from 'zod';
import { userRoles } from '../domain/index.js';
import { safeText } from './safe-text.js';
import { exact } from './tolerant.js';

const isoDate = z.string().describe('ISO 8601 date-time');
const userName = safeText({ min: 1, max: 64 });
const ttl = safeText({ min: 1, max: 16 }).describe('a duration such as 30d or 12h');
const label = safeText({ min: 1, max: 100 });

/** `POST /v1/tokens`: a token for oneself, or (admins) for a `service` user. */
export const tokenBody = z.object({ user: userName, label: label.optional(), ttl: ttl.optional() });
/**
 * A new token, shown once (`POST /v1/tokens`, `POST /v1/tokens/redeem`): `--json` prints exactly
 * these fields. `expiresAt` is null for a token that lives until revoked.
 */
export const tokenResponseSchema = exact(z.object({ id: z.string(), token: z.string().min(1), expiresAt: isoDate.nullable() }));

/** A token as listed: never the token. Absent times are null. */
export const tokenViewSchema = z.object({
  id: z.string(),
  user: z.string(),
  label: z.string(),
  createdAt: isoDate,
  expiresAt: isoDate.nullable(),
  lastUsedAt: isoDate.nullable(),
  revokedAt: isoDate.nullable(),
  createdBy: z.string(),
});

/** `GET /v1/tokens?user=…&all=true` */
export const tokensQuery = z.object({
  user: userName.optional(),
  all: z.enum(['true', 'false']).optional().describe('also revoked and expired tokens'),
});
export const tokensResponseSchema = z.object({ tokens: z.array(tokenViewSchema) });

/** `DELETE /v1/tokens/{id}` */
export const tokenIdParams = z.object({ id: z.string().regex(/^tok_[a-z0-9]{8,64}$/, 'not a token id') });

/** `POST /v1/users/{name}/invite` (admin): a one-time enrolment code, valid for at most 24 h. */
export const inviteParams = z.object({ name: userName });
export const inviteBody = z.object({ ttl: ttl.optional() });
export const inviteResponseSchema = exact(z.object({ code: z.string().min(1), expiresAt: isoDate }));

/** `POST /v1/tokens/redeem` (no token: the code is the credential). */
export const redeemBody = z.object({ code: z.string().min(1).max(200), ttl: ttl.optional(), label: label.optional() });

/** `GET /v1/whoami` */
export const whoamiResponseSchema = z.object({ user: z.string(), roles: z.array(z.enum(userRoles)), tokenId: z.string().nullable() });

// issue 14 (enroll)
/**
 * `POST /v1/users/enroll` (no token: the invite code is the credential). The password's rules
 * (15 to 1024 characters) are checked by the use case, which names the rule, never the value.
 */
export const enrollBody = z.object({
  user: userName,
  code: z.string().min(1).max(200),
  password: z.string().min(1).max(4096),
});
/** The one-time enrolment answer (the contract of issue 14): `--json` prints exactly these fields. */
export const enrollResponseSchema = exact(
  z.object({
    totpSecret: z.string().regex(/^[A-Z2-7]+$/, 'base32'),
    otpauthUri: z.string().startsWith('otpauth://totp/'),
    recoveryCodes: z.array(z.string()),
  }),
);
