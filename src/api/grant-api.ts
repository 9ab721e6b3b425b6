import { z } from 'zod';
import { grantStates } from '../domain/index.js';
import { safeText } from './safe-text.js';
import { exact } from './tolerant.js';
// issue 11 (H1)
import { approvalViewSchema } from './approval-api.js';

const isoDate = z.string().describe('ISO 8601 date-time');

/** The public JSON shape of a grant. Absent fields are omitted. */
export const grantViewSchema = z.object({
  id: z.string(),
  account: z.string(),
  state: z.enum(grantStates),
  mode: z.enum(['prestaged', 'ephemeral']),
  condition: z.string(),
  reason: z.string(),
  incident: z.string(),
  requester: z.string(),
  createdAt: isoDate,
  activatedAt: isoDate.optional(),
  expiresAt: isoDate,
  endedAt: isoDate.optional(),
  // issue 11 (H2): 'incident-closed'
  endReason: z.enum(['expired', 'ended', 'incident-closed']).optional(),
  revokedAt: isoDate.optional(),
  rotatedAt: isoDate.optional(),
  revealedAt: isoDate.optional(),
  closedAt: isoDate.optional(),
  certification: z
    .object({ by: z.string(), at: isoDate, necessary: z.boolean(), scoped: z.boolean(), removed: z.boolean(), note: z.string(), misuseSuspected: z.literal(true).optional() })
    .optional(),
  failure: z.string().optional(),
  /** A drill (issue 10), not an incident. */
  drill: z.literal(true).optional(),
  // issue 11 (H2): bounds
  /** How many times the grant was extended. */
  extensions: z.number().int().optional(),
  /** An admin invoked past `requireCertifiedPrevious`, with this reason. */
  override: z.literal(true).optional(),
  overrideReason: z.string().optional(),
  /** A step the engine keeps retrying (revoke, rotate, …): why it has not succeeded yet. */
  stuck: z.object({ step: z.string(), attempts: z.number(), lastError: z.string(), nextAttemptAt: isoDate }).optional(),
  // issue 11 (H1): the approvers' decisions, and the escalation past them (with the second justification).
  approvals: z.array(approvalViewSchema).optional(),
  escalated: z.literal(true).optional(),
  escalationReason: z.string().optional(),
  // issue 11 (H3): past the policy's `certifyWithin` while awaiting certification; an admin's resolution of a review.
  certificationOverdue: z.literal(true).optional(),
  certificationOverdueAt: isoDate.optional(),
  resolution: z.object({ by: z.string(), at: isoDate, note: z.string() }).optional(),
  // issue 12 (P2): what the verified revocation did to live sessions (counted by the connector as it ended them).
  revocation: z.object({ sessionsBefore: z.number().int(), sessionsEnded: z.number().int(), sessionsAfter: z.number().int() }).optional(),
});
export type GrantView = z.output<typeof grantViewSchema>;

/** `/v1/grants/{id}/…` */
export const grantIdParams = z.object({ id: z.string().regex(/^gr_[A-Za-z0-9_-]{8,64}$/, 'not a grant id') });

/** `POST /v1/grants` */
export const invokeBody = z.object({
  account: safeText({ max: 128 }),
  condition: safeText({ max: 64 }),
  reason: safeText({ max: 2000, multiline: true }),
  incident: safeText({ max: 200 }),
  ttl: safeText({ min: 0, max: 16 }).optional(),
  // issue 11 (H2): an admin's reason to invoke past `requireCertifiedPrevious` (audited; the grant is marked).
  overrideReason: safeText({ max: 2000, multiline: true }).optional(),
});

/** `GET /v1/grants?state=…` */
export const grantsQuery = z.object({ state: z.enum(grantStates).optional() });
export const grantsResponseSchema = z.object({ grants: z.array(grantViewSchema) });

/** `POST /v1/grants/{id}/reveal`: the credential, once; `reveal --json` prints exactly these fields. */
export const revealResponseSchema = exact(
  z.union([
    z.object({ username: z.string(), password: z.string() }).describe('database, cache and directory accounts'),
    z.object({ username: z.string(), certificate: z.string(), privateKey: z.string() }).describe('SSH certificates'),
  ]),
);

/** `POST /v1/grants/{id}/certify` */
export const certifyBody = z.object({
  necessary: z.boolean(),
  scoped: z.boolean(),
  removed: z.boolean(),
  note: safeText({ min: 0, max: 4000, multiline: true }).default(''),
  // issue 11 (H3): the case goes to `under-review` instead of closing, until an admin resolves it.
  misuseSuspected: z.boolean().optional(),
});

// issue 11 (H2): bounds while active and repeated use.
/** `POST /v1/grants/{id}/extend` */
export const extendBody = z.object({
  by: safeText({ max: 16 }).describe('how much longer, e.g. 15m'),
  reason: safeText({ max: 2000, multiline: true }),
});

/** `POST /v1/grants/{id}/join` */
export const joinBody = z.object({ reason: safeText({ max: 2000, multiline: true }) });

/** `POST /v1/grants/{id}/join`: the case, and who has joined it (in order). */
export const joinResponseSchema = z.object({
  grant: grantViewSchema,
  coResponders: z.array(z.object({ name: z.string(), joinedAt: isoDate, revealedAt: isoDate.optional() })),
});

/** `/v1/incidents/{ref}/…` */
export const incidentParams = z.object({ ref: safeText({ max: 200 }) });

/** `POST /v1/incidents/{ref}/close`: what was ended (active) and cancelled (still waiting). */
export const incidentCloseResponseSchema = z.object({
  incident: z.string(),
  ended: z.array(z.string()).describe('ids of active grants ended (they go on to revocation)'),
  cancelled: z.array(z.string()).describe('ids of requests cancelled before they were active'),
});
