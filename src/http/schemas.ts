import { z } from 'zod';
import { grantStates } from '../domain/index.js';

const isoDate = z.string().describe('ISO 8601 date-time');

export const errorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), path: z.string().optional() }),
});

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
  endReason: z.enum(['expired', 'ended']).optional(),
  revokedAt: isoDate.optional(),
  rotatedAt: isoDate.optional(),
  revealedAt: isoDate.optional(),
  closedAt: isoDate.optional(),
  certification: z
    .object({ by: z.string(), at: isoDate, necessary: z.boolean(), scoped: z.boolean(), removed: z.boolean(), note: z.string() })
    .optional(),
  failure: z.string().optional(),
});

export const grantIdParams = z.object({ id: z.string().regex(/^gr_[A-Za-z0-9_-]{8,64}$/, 'not a grant id') });

export const invokeBody = z.object({
  account: z.string().min(1).max(128),
  condition: z.string().min(1).max(64),
  reason: z.string().min(1).max(2000),
  incident: z.string().min(1).max(200),
  ttl: z.string().max(16).optional(),
});

export const certifyBody = z.object({
  necessary: z.boolean(),
  scoped: z.boolean(),
  removed: z.boolean(),
  note: z.string().max(4000).default(''),
});

export const auditVerification = z.union([
  z.object({ ok: z.literal(true), events: z.number(), headSeq: z.number(), checkpoints: z.number() }),
  z.object({ ok: z.literal(false), firstBadSeq: z.number(), reason: z.string(), events: z.number() }),
]);
