import { z } from 'zod';
import { safeText } from './safe-text.js';

const isoDate = z.string().describe('ISO 8601 date-time');
const outboxStates = ['pending', 'sent', 'dead'] as const;

/** One alert on its way to one channel, as `breakglass alerts` lists it. Never a channel secret. */
export const alertViewSchema = z.object({
  id: z.string().describe('alr_…: what `breakglass alerts retry` takes'),
  // A string, not the closed list: a newer server may announce events an older CLI does not know.
  event: z.string().describe('the alert event, e.g. grant.activated, alert.dead'),
  channel: z.string(),
  state: z.enum(outboxStates).describe('pending: not delivered yet (retried with backoff); sent; dead: given up, see lastError'),
  attempts: z.number().int(),
  eventId: z.string().describe('the idempotency key receivers see: the audit event that raised it (evt-<seq>), or a generated id'),
  grant: z.string().optional(),
  account: z.string().optional(),
  createdAt: isoDate,
  sentAt: isoDate.optional(),
  lastError: z.string().optional().describe("the receiver's last refusal, or why it could not be reached"),
  acked: z
    .object({ by: z.string().describe('a user, or link:<channel> for the signed link in a message'), at: isoDate, note: z.string().optional() })
    .optional()
    .describe('who acknowledged the event, and when (the same on every channel the event went to)'),
});
export type AlertViewJson = z.output<typeof alertViewSchema>;

/** `GET /v1/alerts?state=&limit=`: newest first. */
export const alertsQuery = z.object({
  state: z.enum(outboxStates).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional().describe('at most this many (default 500)'),
});
export const alertsResponseSchema = z.object({ alerts: z.array(alertViewSchema) });

/** `POST /v1/alerts/{id}/retry`: answers the alert, pending again. */
export const alertIdParams = z.object({ id: z.string().regex(/^alr_[0-9a-f-]{8,64}$/, 'not an alert id') });
export const alertRetryResponseSchema = alertViewSchema;

/** `POST /v1/alerts/{id}/ack`: acknowledges the alert's event; again answers the first acknowledgement. */
export const alertAckBody = z.object({ note: safeText({ max: 500, multiline: true }).optional().describe('what you are doing about it, e.g. "on it, INC-7"') });
export const alertAckResponseSchema = z.object({
  eventId: z.string().describe('the event acknowledged (evt-<seq>): every channel it went to'),
  ackedBy: z.string(),
  ackedAt: isoDate,
  note: z.string().optional(),
  alreadyAcknowledged: z.boolean().describe('true when an earlier acknowledgement stands (this one changed nothing)'),
});
export type AlertAckJson = z.output<typeof alertAckResponseSchema>;

/**
 * `GET|POST /v1/alerts/ack?e=&c=&x=&s=`: the signed link in a message (no token). Checked as a
 * whole: a link that does not parse is 400, one that does not hold 404, neither saying which part.
 */
export const ackLinkQuery = z.object({
  e: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/),
  c: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
  x: z.string().regex(/^[0-9]{1,12}$/),
  s: z.string().regex(/^[0-9a-f]{64}$/),
});

/** `POST /v1/channels/{name}/test`: the receiver's answer, or why it was not delivered (still 200). */
export const channelParams = z.object({ name: z.string().min(1).max(64) });
export const channelTestResponseSchema = z.union([
  z.object({ channel: z.string(), ok: z.literal(true), status: z.string().describe('what the receiver answered, e.g. HTTP 200') }),
  z.object({ channel: z.string(), ok: z.literal(false), error: z.string() }),
]);
