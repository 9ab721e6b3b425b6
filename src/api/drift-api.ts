import { z } from 'zod';
import { safeText } from './safe-text.js';

const isoDate = z.string().describe('ISO 8601 date-time');

/** One drift finding, as `breakglass drift scan|list` shows it. Never a secret. */
export const driftFindingSchema = z.object({
  id: z.string().describe('drf_…: what `breakglass drift ack` takes'),
  account: z.string(),
  // A string, not the closed list: a newer server may report kinds an older CLI does not know.
  kind: z.string().describe('enabled-outside-case, secret-changed, sessions-outside-case, ephemeral-leftover, certificate-not-in-krl, drill-overdue, privileges-differ'),
  subject: z.string().describe('the principal, or the grant of a leftover ephemeral credential'),
  detail: z.string(),
  firstSeen: isoDate,
  lastSeen: isoDate,
  resolvedAt: isoDate.optional(),
  ackedBy: z.string().optional(),
  ackedReason: z.string().optional(),
});
export type DriftFindingJson = z.output<typeof driftFindingSchema>;

/** `POST /v1/drift/scan`: the findings open after the scan, and the accounts it could not inspect. */
export const driftScanResponseSchema = z.object({
  findings: z.array(driftFindingSchema),
  errors: z.array(z.object({ account: z.string(), error: z.string() })).describe('accounts whose target could not be inspected: their findings stay as they were'),
});

/** `GET /v1/drift/findings?limit=`: open findings first, then the most recently resolved. */
export const driftFindingsQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).optional().describe('at most this many (default 200)') });
export const driftFindingsResponseSchema = z.object({ findings: z.array(driftFindingSchema) });

/** `POST /v1/drift/findings/{id}/ack`. */
export const driftIdParams = z.object({ id: z.string().regex(/^drf_[0-9a-f-]{8,64}$/, 'not a drift finding id') });
export const driftAckBody = z.object({ reason: safeText({ max: 500, multiline: true }).describe('why it is known or acceptable, e.g. "DBA test window, CHG-12"') });
export const driftAckResponseSchema = driftFindingSchema;
