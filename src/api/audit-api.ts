import { z } from 'zod';

/** `GET /v1/audit/verify` */
export const auditVerificationSchema = z.union([
  z.object({ ok: z.literal(true), events: z.number(), headSeq: z.number(), checkpoints: z.number() }),
  z.object({ ok: z.literal(false), firstBadSeq: z.number(), reason: z.string(), events: z.number() }),
]);
