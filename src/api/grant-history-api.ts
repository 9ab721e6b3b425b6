import { z } from 'zod';
import { grantStates, parseDuration } from '../domain/index.js';
import { grantsResponseSchema } from './grant-api.js';
import { safeText } from './safe-text.js';

/**
 * Issue 11 (H3): the history of cases. `state` takes every grant state, and
 * `certification-overdue` (awaiting certification past the policy's `certifyWithin`).
 */
export const historyStates = [...grantStates, 'certification-overdue'] as const;
export type HistoryState = (typeof historyStates)[number];

const isoInstant = z.iso.datetime({ offset: true });
/** A point in time: an ISO 8601 date-time, or a duration meaning that long before now (on the server's clock). */
export const historyInstant = z
  .string()
  .max(40)
  .refine((text) => parseDuration(text) !== undefined || isoInstant.safeParse(text).success, {
    error: 'must be an ISO 8601 date-time (2026-11-01T00:00:00Z) or a duration before now (7d, 12h)',
  });

/** `GET /v1/grants?account=&requester=&incident=&state=&since=&until=&limit=&cursor=`: newest first, in pages. */
export const grantHistoryQuery = z.object({
  account: safeText({ max: 128 }).optional().describe('only cases of this account'),
  requester: safeText({ max: 128 }).optional().describe('only cases this user invoked'),
  incident: safeText({ max: 200 }).optional().describe('only cases of this incident reference'),
  state: z.enum(historyStates, { error: `must be one of ${historyStates.join(', ')}` }).optional(),
  since: historyInstant.optional().describe('created at or after: ISO 8601, or a duration before now such as 7d'),
  until: historyInstant.optional().describe('created before: ISO 8601, or a duration before now'),
  limit: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(500, 'must be at most 500').optional().describe('at most this many per page (default 100)'),
  cursor: z.string().max(200).regex(/^[A-Za-z0-9_-]+$/, 'not a cursor from a previous page').optional().describe('`nextCursor` of the previous page'),
});
export type GrantHistoryQuery = z.output<typeof grantHistoryQuery>;

/** The list answer as before (`grants`), with `nextCursor` when there may be more. */
export const grantHistoryResponseSchema = grantsResponseSchema.extend({
  nextCursor: z.string().optional().describe('pass as `cursor` for the next page; absent on the last page'),
});

/** `GET /v1/grants/{id}/timeline`: the case's audit events, oldest first. */
export const timelineEventSchema = z.object({
  seq: z.number(),
  at: z.string().describe('ISO 8601 date-time'),
  actor: z.string(),
  action: z.string(),
  details: z.record(z.string(), z.unknown()),
});
export const grantTimelineResponseSchema = z.object({ grant: z.string(), events: z.array(timelineEventSchema) });
export type TimelineEvent = z.output<typeof timelineEventSchema>;

/** `POST /v1/grants/{id}/resolve`: an admin ends the review of a case under review. */
export const resolveBody = z.object({ note: safeText({ min: 1, max: 4000, multiline: true }) });
