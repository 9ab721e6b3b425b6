import { z } from 'zod';

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

/** `POST /v1/channels/{name}/test`: the receiver's answer, or why it was not delivered (still 200). */
export const channelParams = z.object({ name: z.string().min(1).max(64) });
export const channelTestResponseSchema = z.union([
  z.object({ channel: z.string(), ok: z.literal(true), status: z.string().describe('what the receiver answered, e.g. HTTP 200') }),
  z.object({ channel: z.string(), ok: z.literal(false), error: z.string() }),
]);
